"""What the server process asks of the apps, without importing them: hooks they register.

The gunicorn worker (parley/server/worker.py) sits below the apps: it answers
waiting polls when told to stop, and counts them for its stats line, but it
must not know where polls wait. Whatever keeps waiting requests (the delivery
hub, rooms/hub.py) registers here when it starts in a process.
"""
_on_exit = []
_waiting = []


def on_exit(callback) -> None:
    """Call `callback()` when this process is told to stop (it should answer what waits, at once)."""
    if callback not in _on_exit:
        _on_exit.append(callback)


def count_waiting(provider) -> None:
    """Add `provider()`, a number of waiting requests, to what waiting() reports."""
    if provider not in _waiting:
        _waiting.append(provider)


def exiting() -> None:
    """Run the on_exit callbacks (graceful shutdown)."""
    for callback in list(_on_exit):
        callback()


def waiting() -> int:
    """Return how many requests wait in this process now."""
    return sum(provider() for provider in list(_waiting))
