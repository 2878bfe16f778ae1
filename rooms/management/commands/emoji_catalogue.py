from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rooms import emoji

TARGET = Path("static") / "js" / "parley" / "emoji-data.js"


class Command(BaseCommand):
    help = (
        f"Write {TARGET}, the emoji picker's catalogue, from rooms/emoji.py. "
        "--check writes nothing and fails if the file is out of date (a test runs it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if the file differs; write nothing.")

    def handle(self, *args, check=False, **options):
        path = Path(settings.BASE_DIR) / TARGET
        wanted = emoji.catalogue_module()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if check:
            if current != wanted:
                raise CommandError(f"{TARGET} is out of date: run `python manage.py emoji_catalogue`.")
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.SUCCESS(f"{TARGET} is up to date ({len(emoji.CATALOGUE)} emoji)."))
            return
        if current != wanted:
            path.write_text(wanted, encoding="utf-8")
        if options["verbosity"] >= 1:
            verb = "Wrote" if current != wanted else "Unchanged:"
            self.stdout.write(self.style.SUCCESS(f"{verb} {TARGET} ({len(emoji.CATALOGUE)} emoji)."))
