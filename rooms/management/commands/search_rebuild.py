from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from rooms import search


class Command(BaseCommand):
    help = (
        "Build the stored search vectors again in PARLEY_SEARCH_LANGUAGE (PostgreSQL), after that setting "
        "changed: with Parley's copy of its configuration that keeps stop words (parley_<language>), or the "
        "configuration itself if it has none to drop. The messages table is rewritten under a lock: posts wait "
        "until it is done."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; change nothing.")
        parser.add_argument("--force", action="store_true", help="Rebuild even if the language is already the setting's.")

    def handle(self, *args, dry_run=False, force=False, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: search on SQLite stores no vectors.")
            return
        language = settings.PARLEY_SEARCH_LANGUAGE
        if not search.language_known(connection, language):
            raise CommandError(f"PARLEY_SEARCH_LANGUAGE={language!r} is not a text search configuration of this "
                               "PostgreSQL (SELECT cfgname FROM pg_ts_config lists them).")
        stored, wanted = search.stored_config(connection), search.config_for(connection, language)
        if stored == wanted and not force:
            self.stdout.write(f"The search vectors are already {language!r} ({wanted}); nothing to do "
                              "(--force rebuilds).")
            return
        if dry_run:
            self.stdout.write(f"Would rebuild the search vectors from {stored!r} to {wanted!r} ({language!r}).")
            return
        search.vector_rebuild(language=language)
        self.stdout.write(self.style.SUCCESS(f"Search vectors rebuilt: {stored!r} -> {wanted!r} ({language!r})."))
