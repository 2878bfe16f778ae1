"""Each member's notification level per room (issue 14); null: their default (User.notify_default).

Nullable and without a default on purpose: SQLite then adds the column with
ALTER TABLE instead of rebuilding rooms_membership, which would drop the
triggers of migration 0005 (tests/rooms/test_unread_settings.py checks).
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rooms', '0012_message_indexes_for_scale'),
    ]

    operations = [
        migrations.AddField(
            model_name='membership',
            name='notify',
            field=models.CharField(blank=True, choices=[('all', 'All messages'), ('mentions', 'Mentions only'), ('none', 'Nothing (muted)')], max_length=8, null=True),
        ),
    ]
