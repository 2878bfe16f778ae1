"""Search reads a stored vector of each message's plain text, in the site's language (PostgreSQL).

A generated column: PostgreSQL computes it whenever a row is written, so no
writer (the one-statement post, an edit, a bulk load) can forget it. It is
built from `text` (the rendered plain text), not the Markdown `body`, with the
configuration PARLEY_SEARCH_LANGUAGE names, or rather Parley's copy of it that
keeps stop words (parley_english: english's stemming without its stop-word
list, so "after" and "the" are found; rooms.search.ensure_config creates it,
the reverse drops it); `manage.py search_rebuild` builds the column again after
that setting changes. The old index on to_tsvector('simple', body) goes:
nothing reads it any more, and every post paid for it.
"""
from django.conf import settings
from django.db import migrations

from rooms import search

TABLE = "rooms_message"


def add_vector(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    language = settings.PARLEY_SEARCH_LANGUAGE
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [language])
        if cursor.fetchone() is None:
            raise RuntimeError(
                f"PARLEY_SEARCH_LANGUAGE={language!r} is not a text search configuration of this PostgreSQL"
                " (SELECT cfgname FROM pg_ts_config lists them)"
            )
    config = search.ensure_config(schema_editor.connection, language)
    schema_editor.execute("DROP INDEX IF EXISTS message_body_fts")
    schema_editor.execute(search.vector_column_sql(TABLE, config))
    schema_editor.execute(f"CREATE INDEX message_search_vector ON {TABLE} USING gin (search_vector)")
    # A sample of 300,000 rows and the 10,000 most common words (100 and 1,000 by default): the
    # planner then knows a rare word is rare, and takes its few matches from the index instead of
    # walking the newest messages backwards looking for them (1.6 s instead of 1 ms at 400,000 messages).
    schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN search_vector SET STATISTICS 1000")


def drop_vector(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS message_search_vector")
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS search_vector")
    search.drop_configs(schema_editor.connection)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS message_body_fts ON {TABLE} USING gin (to_tsvector('simple'::regconfig, body))"
    )


class Migration(migrations.Migration):
    dependencies = [("rooms", "0010_assistant")]

    operations = [migrations.RunPython(add_vector, drop_vector)]
