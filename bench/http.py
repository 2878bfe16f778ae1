"""A lean HTTP/1.1 keep-alive client on gevent sockets, for the load generator.

Why not urllib or requests: ten thousand concurrent long polls from one
process need a client that costs a socket, a small buffer and a greenlet per
connection, and parses an answer in a few microseconds. This speaks just
what Parley answers: a status line, headers, then a body framed by
Content-Length or chunked encoding. Loopback only (the caller passes
127.0.0.1).
"""
import json

from gevent import socket

MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """The connection broke or the answer was not HTTP we understand."""


class Connection:
    """One keep-alive connection; `request` sends and reads one exchange at a time."""

    __slots__ = ("host", "port", "token", "timeout", "sock", "buffer", "requests")

    def __init__(self, host, port, token=None, timeout=60.0):
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
        self.sock = None
        self.buffer = bytearray()
        self.requests = 0

    def connect(self):
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer = bytearray()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def request(self, method, path, body=None, timeout=None):
        """Send one request and return (status, body bytes); reconnect once if a kept-alive socket was closed."""
        head = [f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"]
        if self.token:
            head.append(f"Authorization: Token {self.token}\r\n")
        payload = b""
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            head.append(f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
        head.append("\r\n")
        data = "".join(head).encode() + payload
        fresh = self.sock is None
        if fresh:
            self.connect()
        self.sock.settimeout(timeout or self.timeout)
        try:  # a timeout (TimeoutError) is not retried: the server may still be working on it
            self.sock.sendall(data)
            return self._read_response(method)
        except TimeoutError:
            self.close()
            raise
        except (ConnectionError, HttpError):
            self.close()
            if fresh or self.requests == 0:
                raise
            # The server may close an idle keep-alive connection just as we reuse it: retry once, fresh.
            # Safe for the bench: every write it sends carries a client_id, so it is idempotent.
            self.connect()
            self.sock.settimeout(timeout or self.timeout)
            self.sock.sendall(data)
            return self._read_response(method)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed by server")
        self.buffer += chunk

    def _read_response(self, method):
        buffer = self.buffer
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buffer) > MAX_HEADER_BYTES:
                raise HttpError("header too long")
            self._fill()
            buffer = self.buffer
        head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[:end + 4]
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise HttpError(f"bad status line {head[0]!r}") from None
        length = None
        chunked = False
        close = False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if method == "HEAD" or status in (204, 304) or (100 <= status < 200):
            body = b""
        elif chunked:
            body = self._read_chunked()
        elif length is not None:
            while len(self.buffer) < length:
                self._fill()
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
        else:  # body runs to the end of the connection
            try:
                while True:
                    self._fill()
            except HttpError:
                pass
            body, self.buffer = bytes(self.buffer), bytearray()
            close = True
        self.requests += 1
        if close:
            self.close()
        return status, body

    def _read_chunked(self):
        parts = []
        while True:
            while True:
                end = self.buffer.find(b"\r\n")
                if end >= 0:
                    break
                self._fill()
            size = int(bytes(self.buffer[:end]).split(b";")[0], 16)
            del self.buffer[:end + 2]
            while len(self.buffer) < size + 2:
                self._fill()
            parts.append(bytes(self.buffer[:size]))
            del self.buffer[:size + 2]
            if size == 0:
                # No trailers are sent by the servers we talk to; the final CRLF was consumed above.
                return b"".join(parts)
