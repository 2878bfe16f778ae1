"""The indexes search and the room list read at scale (issue 15).

- (created_at, id): search's newest-first order and its before:/after: filters.
- (room, id) of @**all** messages only: each room's mention_count.
- On PostgreSQL, message_room_id_desc also carries author_id (INCLUDE): counting
  a room's unread messages, others' only, reads the index alone, not the table.
  Same name, same key columns, so history and Django's model state are unchanged.
"""
from django.db import migrations, models


def include_author(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_room_id_desc")
        schema_editor.execute(
            "CREATE INDEX message_room_id_desc ON rooms_message (room_id, id DESC) INCLUDE (author_id)"
        )


def exclude_author(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_room_id_desc")
        schema_editor.execute("CREATE INDEX message_room_id_desc ON rooms_message (room_id, id DESC)")


class Migration(migrations.Migration):
    dependencies = [("rooms", "0011_message_search_vector")]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["created_at", "id"], name="message_created_at_id"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(condition=models.Q(("mentions_everyone", True)), fields=["room", "id"],
                               name="message_room_everyone"),
        ),
        migrations.RunPython(include_author, exclude_author),
    ]
