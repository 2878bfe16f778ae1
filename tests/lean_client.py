"""`pytest -p tests.lean_client`: Django's test client sends GET /api/events through rooms/events_wsgi.py.

The in-process suites (delivery, security, rate limits, revocation) speak to
Django's handler through the test client, which never passes config/wsgi.py.
With this plugin the client's GET /api/events goes first to the lean path's
`answer()`, exactly as the WSGI entry sends it, and only what the lean path
leaves to Django reaches Django; the suites run unchanged. The summary line
says how many polls each path answered, so a run that never took the lean
path shows it.
"""
from collections import Counter

answered = Counter()


def lean_call(original):
    def __call__(self, environ):
        from rooms import events_wsgi

        if environ.get("PATH_INFO") == events_wsgi.PATH and environ.get("REQUEST_METHOD") == "GET":
            result = events_wsgi.answer(environ)
            answered["lean" if result is not None else "django"] += 1
            if result is not None:
                request, response = result
                response.wsgi_request = request
                return response
        return original(self, environ)

    return __call__


def pytest_configure(config):
    from django.test.client import ClientHandler

    ClientHandler.__call__ = lean_call(ClientHandler.__call__)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"tests.lean_client: GET /api/events answered by the lean path {answered['lean']} times, "
        f"left to Django {answered['django']} times"
    )
