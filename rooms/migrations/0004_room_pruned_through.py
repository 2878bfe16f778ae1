"""Per-room purge marks, so that one room's retention expires only its own readers' cursors.

What was purged before this migration is not known room by room: the old
stream-wide mark becomes the shared mark, which expires every cursor from
before it, as it did until now.
"""
from django.db import migrations, models
from django.db.models import F


def keep_the_old_mark_for_everyone(apps, schema_editor):
    apps.get_model("rooms", "Stream").objects.update(shared_pruned_through=F("pruned_through"))


class Migration(migrations.Migration):

    dependencies = [
        ('rooms', '0003_membership_invitation'),
    ]

    operations = [
        migrations.AddField(
            model_name='room',
            name='pruned_through',
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name='stream',
            name='shared_pruned_through',
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(keep_the_old_mark_for_everyone, migrations.RunPython.noop),
    ]
