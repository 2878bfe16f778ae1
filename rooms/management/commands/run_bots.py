import signal
import time

from django.core.management.base import BaseCommand, CommandError

from parley import listen
from rooms import stream, webhooks


class Command(BaseCommand):
    help = (
        "Send bots their outgoing webhooks: follow the event stream from the stored cursor, POST each "
        "message that mentions or DMs a bot with an endpoint, retry with backoff, post the answers; "
        "answer the built-in assistant's questions and deliver its reminders. "
        "Runs until SIGTERM (the Procfile's bots: line); --once does one round and waits for its sends."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One round, then wait for its sends and stop.")
        parser.add_argument("--interval", type=float, default=0.5, metavar="SECONDS",
                            help="How often to look for new messages and due retries (default 0.5).")

    def handle(self, *args, once=False, interval=0.5, **options):
        if interval <= 0:
            raise CommandError("--interval takes a positive number of seconds.")
        worker = webhooks.Worker()
        started = time.monotonic()
        worker.assistant.warm()  # the assistant's classifier and parsers, loaded once before the first question
        worker.cursor(), worker.assistant.cursor()  # from here on, nothing asked is missed
        if options["verbosity"] >= 1:
            self.stdout.write(f"The assistant is ready ({time.monotonic() - started:.1f} s).")
        # On PostgreSQL every message's commit NOTIFYs the stream's channel: look at once, not at the
        # next --interval (which stays the fallback, and SQLite's only clock).
        listen.subscribe(stream.CHANNEL, worker.wake)
        listen.on_connect(worker.wake)
        if not once:
            listen.start()
        signal.signal(signal.SIGTERM, worker.stop)
        signal.signal(signal.SIGINT, worker.stop)
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Sending bots' webhooks{' once' if once else ''}."))
        try:
            worker.run(interval=interval, once=once)
        finally:
            worker.close()
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS("Stopped."))
