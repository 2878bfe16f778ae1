import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from rooms import retention, uploads


class Command(BaseCommand):
    help = (
        "Delete messages beyond each room's retention window (the room's override, else "
        "PARLEY_RETENTION_MESSAGES / PARLEY_RETENTION_DAYS), in short batches; also clear "
        "ephemeral rooms' messages and old transient events. Purged messages' files go with them, and "
        "uploads no message attached within a day; the bytes freed are reported. -v 2 lists the rooms."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be deleted; delete nothing.")
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Repeat forever, every SECONDS.")
        parser.add_argument("--batch-size", type=int, default=retention.BATCH_SIZE, help="Messages per transaction.")

    def handle(self, *args, dry_run=False, every=None, batch_size=retention.BATCH_SIZE, **options):
        if every is not None and every < 1:
            raise CommandError("--every takes a number of seconds of at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        verbosity = options["verbosity"]
        while True:
            try:
                freed = uploads.Freed()
                report = retention.purge_messages(dry_run=dry_run, batch_size=batch_size, freed=freed)
                transient = {} if dry_run else retention.purge_transient(freed=freed)
                unattached = uploads.purge_unattached(dry_run=dry_run)
                freed.add(unattached.files, unattached.bytes)
            except DatabaseError as error:
                if every is None:
                    raise
                # A database restart must not end a loop that hosts rely on instead of cron.
                self.stderr.write(f"Purge failed ({error}); trying again in {every} s.")
            else:
                self._report(report, transient, dry_run, verbosity)
                self._report_files(freed, unattached, dry_run, verbosity)
            if every is None:
                return
            connection.close()  # hold no connection while sleeping
            time.sleep(every)

    def _report(self, report, transient, dry_run, verbosity):
        verb = "Would delete" if dry_run else "Deleted"
        if verbosity >= 2 or dry_run:
            for slug, count in report.items():
                self.stdout.write(f"{verb} {count} message(s) in {slug}")
        if verbosity >= 2 and transient.get("ephemeral_messages"):
            self.stdout.write(f"Deleted {transient['ephemeral_messages']} message(s) in ephemeral rooms")
        if verbosity >= 1:
            total = sum(report.values())
            self.stdout.write(self.style.SUCCESS(f"{verb} {total} message(s) in {len(report)} room(s)."))

    def _report_files(self, freed, unattached, dry_run, verbosity):
        if verbosity < 1 or not freed.files:
            return
        verb = "Would delete" if dry_run else "Deleted"
        if verbosity >= 2 and unattached.files:
            self.stdout.write(f"{verb} {unattached.files} upload(s) no message attached ({unattached.bytes} bytes)")
        freeing = "would free" if dry_run else "freed"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {freed.files} file(s): {freeing} {freed.bytes} bytes ({freed.bytes / uploads.MB:.1f} MB)."
        ))
