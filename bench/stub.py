"""A stand-in Parley server for calibrating the load generator: `python -m bench --stub ...`.

It speaks just the part of the API the benchmark uses (GET /api/events with
a cursor, POST /api/rooms/<slug>/messages with client_id, /healthz, /api/me)
from memory, in one gevent process, with none of Parley's work behind it.
Run against it, the benchmark shows what the load generator itself can hold
(10,000 waiting polls?) and the smallest delay it can measure; the numbers
against the real server are only meaningful above that floor.

Users are synthetic: token "stub<i>" is user i, a member of room "room-<i % M>".

`--fault drop:N` confirms every Nth post but never delivers it, and
`--fault duplicate:N` delivers every Nth message twice: a check that the
benchmark's lost and duplicated counts do count (`python -m bench --stub
--stub-fault drop:100` must report losses).
"""
import argparse
import json
import sys

from gevent import monkey

monkey.patch_all()

from gevent.event import Event  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402


class Room:
    __slots__ = ("messages", "changed")

    def __init__(self):
        self.messages = []  # (position, event dict)
        self.changed = Event()


class Stub:
    def __init__(self, rooms, fault=None):
        self.fault, self.fault_every = (fault.split(":")[0], int(fault.split(":")[1])) if fault else (None, 0)
        self.posts = 0
        self.rooms = {f"room-{j}": Room() for j in range(rooms)}
        self.room_count = rooms
        self.position = 0
        self.by_client_id = {}

    def user(self, environ):
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Token stub"):
            return None
        try:
            return int(header[len("Token stub"):])
        except ValueError:
            return None

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        if path == "/healthz":
            return self.answer(start_response, 200, {"status": "ok", "database": "ok"})
        user = self.user(environ)
        if user is None:
            return self.answer(start_response, 401, {"error": {"code": "not_authenticated", "message": "token"}})
        slug = f"room-{user % self.room_count}"
        if path == "/api/me":
            return self.answer(start_response, 200, {"user": {"id": user}})
        if path == "/api/events" and method == "GET":
            query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part)
            if "cursor" not in query:
                return self.answer(start_response, 200, {"cursor": str(self.position), "events": []})
            cursor = int(query["cursor"])
            timeout = min(float(query.get("timeout", 25)), 55)
            room = self.rooms[slug]
            found = [event for position, event in room.messages if position > cursor]
            if not found:
                room.changed.wait(timeout)
                found = [event for position, event in room.messages if position > cursor]
            return self.answer(start_response, 200, {"cursor": str(self.position), "events": found})
        if path.startswith("/api/rooms/") and path.endswith("/messages") and method == "POST":
            target = path[len("/api/rooms/"):-len("/messages")]
            if target != slug:
                return self.answer(start_response, 403, {"error": {"code": "forbidden", "message": "member"}})
            data = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            key = (user, data.get("client_id"))
            if key in self.by_client_id:
                return self.answer(start_response, 200, {"message": self.by_client_id[key]})
            self.position += 1
            message = {"id": self.position, "room": slug, "author": {"id": user, "display_name": f"u{user}"},
                       "body": data["body"], "client_id": data.get("client_id")}
            self.by_client_id[key] = message
            room = self.rooms[slug]
            self.posts += 1
            faulty = self.fault_every and self.posts % self.fault_every == 0
            event = {"type": "message", "room": slug, "message": message}
            if not (faulty and self.fault == "drop"):
                room.messages.append((self.position, event))
            if faulty and self.fault == "duplicate":
                self.position += 1
                room.messages.append((self.position, event))
            del room.messages[:-500]
            changed, room.changed = room.changed, Event()
            changed.set()
            return self.answer(start_response, 201, {"message": message})
        return self.answer(start_response, 404, {"error": {"code": "not_found", "message": path}})

    @staticmethod
    def answer(start_response, status, data):
        body = json.dumps(data).encode()
        reason = {200: "OK", 201: "Created", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(body)))])
        return [body]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.stub")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rooms", type=int, required=True)
    parser.add_argument("--fault", help="drop:N or duplicate:N (see the module docstring)")
    args = parser.parse_args(argv)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from gevent import socket

    # As gunicorn does: without TCP_NODELAY a response written as headers then body waits for the
    # client's delayed ACK, about 40 ms on Linux loopback, and the stub would measure that.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(4096)
    server = WSGIServer(listener, Stub(args.rooms, args.fault), log=None)
    print(f"stub listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
