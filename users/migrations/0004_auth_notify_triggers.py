"""PostgreSQL announces account changes that Django's signals cannot see.

Every worker keeps a cache of which user each bearer token is (users/tokencache.py)
and forgets an entry when it hears "user:<id>" or "token:<hash>" on the
parley_auth channel. Django's signals send those for changes made through
models. These triggers send them for every other change too: `QuerySet.update()`,
`QuerySet.delete()` without signals, SQL typed into psql. A user row changed in
a column the cache or the login rules read, a user deleted, a token deleted:
every worker forgets it as the change commits. Presence (`last_seen`,
`is_online`) and `last_login` change all the time and announce nothing.

A new column of users_user that authorization depends on belongs in the list
below. SQLite runs one server process, whose cache hears Django's signals; a
shell's SQL on SQLite reaches it within the cache's TTL.
"""
from django.db import migrations

WATCHED = [
    "email", "first_name", "last_name", "password", "is_active", "is_approved", "is_staff",
    "is_superuser", "session_generation", "blocked_ids",
]

CREATE = f"""
CREATE OR REPLACE FUNCTION parley_user_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_auth', 'user:' || OLD.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION parley_token_deleted() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('parley_auth', 'token:' || OLD.key_hash);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER parley_user_changed AFTER UPDATE ON users_user FOR EACH ROW
    WHEN (({", ".join(f"OLD.{c}" for c in WATCHED)}) IS DISTINCT FROM ({", ".join(f"NEW.{c}" for c in WATCHED)}))
    EXECUTE FUNCTION parley_user_changed();
CREATE TRIGGER parley_user_deleted AFTER DELETE ON users_user FOR EACH ROW
    EXECUTE FUNCTION parley_user_changed();
CREATE TRIGGER parley_token_deleted AFTER DELETE ON users_apitoken FOR EACH ROW
    EXECUTE FUNCTION parley_token_deleted();
"""

DROP = """
DROP TRIGGER IF EXISTS parley_user_changed ON users_user;
DROP TRIGGER IF EXISTS parley_user_deleted ON users_user;
DROP TRIGGER IF EXISTS parley_token_deleted ON users_apitoken;
DROP FUNCTION IF EXISTS parley_user_changed();
DROP FUNCTION IF EXISTS parley_token_deleted();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("users", "0003_block")]

    operations = [migrations.RunPython(create, drop)]
