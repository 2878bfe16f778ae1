from django.db import migrations


def create_stream_row(apps, schema_editor):
    apps.get_model("rooms", "Stream").objects.get_or_create(id=1)


def create_search_index(apps, schema_editor):
    # Full-text search on PostgreSQL only (rooms/search.py); SQLite has its fallback.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS message_body_fts ON rooms_message "
            "USING gin (to_tsvector('simple'::regconfig, body))"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_body_fts")


class Migration(migrations.Migration):
    dependencies = [("rooms", "0001_initial")]

    operations = [
        migrations.RunPython(create_stream_row, migrations.RunPython.noop),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
