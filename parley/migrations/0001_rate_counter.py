# The rate counter used to live in the "config" app, whose migration created the same table.
# A database migrated then keeps its table (and its counts); a new one gets it here.

from django.db import migrations, models


def create_table_unless_there(apps, schema_editor):
    model = apps.get_model("parley", "RateCounter")
    if model._meta.db_table not in schema_editor.connection.introspection.table_names():
        schema_editor.create_model(model)


def drop_table(apps, schema_editor):
    schema_editor.delete_model(apps.get_model("parley", "RateCounter"))


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RateCounter',
                    fields=[
                        ('key', models.CharField(max_length=64, primary_key=True, serialize=False)),
                        ('window_start', models.BigIntegerField()),
                        ('hits', models.IntegerField()),
                        ('expires_at', models.BigIntegerField(db_index=True)),
                    ],
                    options={
                        'db_table': 'parley_rate_counter',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(create_table_unless_there, drop_table),
    ]
