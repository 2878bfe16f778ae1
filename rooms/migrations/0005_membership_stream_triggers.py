"""The database writes every membership change into the event stream itself.

A trigger on rooms_membership appends a `membership` event (user, room,
joined or left) at the next stream position, whatever made the change: the
services, Django admin, `QuerySet.delete()`, `bulk_create`, a shell or SQL
typed into psql. Every process reads it in order with the events around it,
so delivery follows membership exactly (rooms/visibility.py). On PostgreSQL the
trigger also sends the NOTIFY that wakes every process's fetch loop; SQLite
runs one server process, whose fetch loop finds a shell's change on its
periodic re-read.

The event names its room and user in its JSON, not in foreign keys: it is
written while a room or user may be being deleted (the cascade deletes their
memberships), and a key to a row about to vanish would fail the commit.
"""
from django.db import migrations

# On PostgreSQL the triggers run once per statement, over its transition table:
# a bulk_create of 10,000 memberships takes 10,000 positions with one UPDATE of
# the stream row, not 10,000 (updating one row again and again in a transaction
# grows a chain of row versions that each update walks: quadratic).
POSTGRES = """
CREATE OR REPLACE FUNCTION parley_membership_events(changes jsonb[]) RETURNS void AS $$
DECLARE
    last bigint;
    n integer := coalesce(array_length(changes, 1), 0);
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    INSERT INTO rooms_stream (id, last_position, pruned_through) VALUES (1, n, 0)
        ON CONFLICT (id) DO UPDATE SET last_position = rooms_stream.last_position + n
        RETURNING last_position INTO last;
    INSERT INTO rooms_event (position, type, data, is_public, created_at)
        SELECT last - n + ordinality, 'membership', change, false, now()
        FROM unnest(changes) WITH ORDINALITY AS item(change, ordinality);
    PERFORM pg_notify('parley_events', last::text);
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION parley_memberships_added() RETURNS trigger AS $$
BEGIN
    PERFORM parley_membership_events(ARRAY(
        SELECT jsonb_build_object('type', 'membership', 'user_id', user_id, 'room_id', room_id, 'action', 'joined')
        FROM added ORDER BY id));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION parley_memberships_removed() RETURNS trigger AS $$
BEGIN
    PERFORM parley_membership_events(ARRAY(
        SELECT jsonb_build_object('type', 'membership', 'user_id', user_id, 'room_id', room_id, 'action', 'left')
        FROM removed ORDER BY id));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION parley_membership_moved() RETURNS trigger AS $$
BEGIN
    PERFORM parley_membership_events(ARRAY[
        jsonb_build_object('type', 'membership', 'user_id', OLD.user_id, 'room_id', OLD.room_id, 'action', 'left'),
        jsonb_build_object('type', 'membership', 'user_id', NEW.user_id, 'room_id', NEW.room_id, 'action', 'joined')
    ]);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER parley_memberships_added AFTER INSERT ON rooms_membership
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION parley_memberships_added();
CREATE TRIGGER parley_memberships_removed AFTER DELETE ON rooms_membership
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION parley_memberships_removed();
CREATE TRIGGER parley_membership_moved AFTER UPDATE OF room_id, user_id ON rooms_membership
    FOR EACH ROW WHEN (OLD.room_id IS DISTINCT FROM NEW.room_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION parley_membership_moved();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS parley_memberships_added ON rooms_membership;
DROP TRIGGER IF EXISTS parley_memberships_removed ON rooms_membership;
DROP TRIGGER IF EXISTS parley_membership_moved ON rooms_membership;
DROP FUNCTION IF EXISTS parley_memberships_added();
DROP FUNCTION IF EXISTS parley_memberships_removed();
DROP FUNCTION IF EXISTS parley_membership_moved();
DROP FUNCTION IF EXISTS parley_membership_events(jsonb[]);
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
