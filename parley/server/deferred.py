"""Waiting polls wait outside Django's middleware stack.

A waiting greenlet keeps its whole call stack: under gevent, what it has on the
C stack is copied to the heap when it switches out, and every middleware,
handler and decorator `__call__` adds to it (docs/benchmarks.md, "What bounds
it", item 6). A long poll that found nothing therefore does not wait inside
its view. The view returns a `DeferredResponse` holding the wait; Django and
every middleware finish with it as with any answer (authentication, rate
limits, security headers: all as for every other request), and this WSGI
wrapper, the outermost layer, then waits and sends the real answer, keeping the
headers the middleware set and taking status, body and its own headers from
the answer.

The view defers only when this wrapper says it will finish the job (the
environ key below); elsewhere (Django's test client, a server that loads
another WSGI callable) it waits in place, as before.
"""
from django.db import connections
from django.http import HttpResponse

ENVIRON_KEY = "parley.deferred"


class DeferredResponse(HttpResponse):
    """A poll's answer that is not known yet: `finish()` waits and returns the real HttpResponse."""

    def __init__(self, finish):
        super().__init__(status=200)
        self.finish = finish
        self.when_done = []  # called once the wait is over, however it ends (parley/ratelimit.py)


def allowed(request):
    return request.META.get(ENVIRON_KEY) is True


def wait_outside_django(app):
    def application(environ, start_response):
        environ[ENVIRON_KEY] = True
        started = []
        response = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        if not isinstance(response, DeferredResponse):
            start_response(*started[-1])
            return response
        (_, headers) = started[-1]
        finish, when_done = response.finish, response.when_done
        response.close()  # Django's request ends here (request_finished: its connection goes back)
        del response
        try:
            answer = finish()
        finally:
            for callback in when_done:
                callback()
            connections.close_all()  # if the wait read the database (a cursor older than the buffer)
        own = {name.lower() for name, _ in answer.items()} | {"content-length"}
        headers = [(name, value) for name, value in headers if name.lower() not in own]
        headers += [*answer.items(), ("Content-Length", str(len(answer.content)))]
        start_response(f"{answer.status_code} {answer.reason_phrase}", headers)
        return [answer.content]

    return application
