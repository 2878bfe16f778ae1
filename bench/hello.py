"""The smallest WSGI app, for the floor benchmark (bench/floor.py): answers `{}` to anything."""
BODY = b"{}"
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
