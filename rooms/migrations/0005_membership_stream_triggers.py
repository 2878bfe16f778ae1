"""The database writes every membership change into the event stream itself.

A trigger on rooms_membership appends a `membership` event (user, room,
joined or left) at the next stream position, whatever made the change: the
services, Django admin, `QuerySet.delete()`, `bulk_create`, a shell or SQL
typed into psql. Every process reads it in order with the events around it,
so delivery follows membership exactly (rooms/events.py). On PostgreSQL the
trigger also sends the NOTIFY that wakes every process's fetch loop; SQLite
runs one server process, whose fetch loop finds a shell's change on its
periodic re-read.

The event names its room and user in its JSON, not in foreign keys: it is
written while a room or user may be being deleted (the cascade deletes their
memberships), and a key to a row about to vanish would fail the commit.
"""
from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION parley_membership_event(member bigint, room bigint, action text) RETURNS void AS $$
DECLARE
    next_position bigint;
BEGIN
    INSERT INTO rooms_stream (id, last_position, pruned_through) VALUES (1, 1, 0)
        ON CONFLICT (id) DO UPDATE SET last_position = rooms_stream.last_position + 1
        RETURNING last_position INTO next_position;
    INSERT INTO rooms_event (position, type, data, is_public, created_at)
        VALUES (next_position, 'membership',
                jsonb_build_object('type', 'membership', 'user_id', member, 'room_id', room, 'action', action),
                false, now());
    PERFORM pg_notify('parley_events', next_position::text);
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION parley_membership_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM parley_membership_event(OLD.user_id, OLD.room_id, 'left');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM parley_membership_event(NEW.user_id, NEW.room_id, 'joined');
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER parley_membership_added_or_removed AFTER INSERT OR DELETE ON rooms_membership
    FOR EACH ROW EXECUTE FUNCTION parley_membership_changed();
CREATE TRIGGER parley_membership_moved AFTER UPDATE OF room_id, user_id ON rooms_membership
    FOR EACH ROW WHEN (OLD.room_id IS DISTINCT FROM NEW.room_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION parley_membership_changed();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS parley_membership_added_or_removed ON rooms_membership;
DROP TRIGGER IF EXISTS parley_membership_moved ON rooms_membership;
DROP FUNCTION IF EXISTS parley_membership_changed();
DROP FUNCTION IF EXISTS parley_membership_event(bigint, bigint, text);
"""

# SQLite has no functions in SQL: each trigger repeats the two statements.
SQLITE_EVENT = """
    INSERT INTO rooms_stream (id, last_position, pruned_through) VALUES (1, 1, 0)
        ON CONFLICT (id) DO UPDATE SET last_position = last_position + 1;
    INSERT INTO rooms_event (position, type, data, is_public, created_at)
        SELECT last_position, 'membership',
               json_object('type', 'membership', 'user_id', {row}.user_id, 'room_id', {row}.room_id,
                           'action', '{action}'),
               0, strftime('%Y-%m-%d %H:%M:%f', 'now')
        FROM rooms_stream WHERE id = 1;
"""

SQLITE = [
    "CREATE TRIGGER parley_membership_added AFTER INSERT ON rooms_membership BEGIN"
    + SQLITE_EVENT.format(row="NEW", action="joined") + "END",
    "CREATE TRIGGER parley_membership_removed AFTER DELETE ON rooms_membership BEGIN"
    + SQLITE_EVENT.format(row="OLD", action="left") + "END",
    "CREATE TRIGGER parley_membership_moved AFTER UPDATE OF room_id, user_id ON rooms_membership"
    " WHEN OLD.room_id IS NOT NEW.room_id OR OLD.user_id IS NOT NEW.user_id BEGIN"
    + SQLITE_EVENT.format(row="OLD", action="left") + SQLITE_EVENT.format(row="NEW", action="joined") + "END",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS parley_membership_added",
    "DROP TRIGGER IF EXISTS parley_membership_removed",
    "DROP TRIGGER IF EXISTS parley_membership_moved",
]


def _run(schema_editor, statements):
    # Straight to the driver: no parameters, so the '%' of strftime stays as written.
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES])
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE)
    else:
        raise NotImplementedError(f"Parley runs on PostgreSQL or SQLite, not {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [POSTGRES_DROP] if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("rooms", "0004_room_pruned_through")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
