import time

from django.core.management.base import BaseCommand, CommandError

from rooms import retention


class Command(BaseCommand):
    help = "Delete messages beyond each room's retention window (PARLEY_RETENTION_MESSAGES / _DAYS)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be deleted; delete nothing.")
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Repeat forever, every SECONDS.")
        parser.add_argument("--batch-size", type=int, default=retention.BATCH_SIZE, help="Messages per transaction.")

    def handle(self, *args, dry_run=False, every=None, batch_size=retention.BATCH_SIZE, **options):
        if every is not None and every < 1:
            raise CommandError("--every takes a number of seconds of at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        while True:
            report = retention.purge_messages(dry_run=dry_run, batch_size=batch_size)
            self._report(report, dry_run, options["verbosity"])
            if every is None:
                return
            time.sleep(every)

    def _report(self, report, dry_run, verbosity):
        verb = "Would delete" if dry_run else "Deleted"
        if verbosity >= 2 or dry_run:
            for slug, count in report.items():
                self.stdout.write(f"{verb} {count} message(s) in {slug}")
        if verbosity >= 1:
            total = sum(report.values())
            self.stdout.write(self.style.SUCCESS(f"{verb} {total} message(s) in {len(report)} room(s)."))
