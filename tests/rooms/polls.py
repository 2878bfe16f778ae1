"""Helpers for the delivery tests: polling as production runs it, and a few shortcuts."""
from rooms import hub as hub_module
from rooms import messaging, polling, stream
from rooms.hub import hub


def head():
    return stream.stream_state()[0]


def poll(user, cursor, timeout=0):
    """GET /api/events as production runs it: fetch_events(), then completing the wait it may return."""
    answer = polling.fetch_events(user=user, cursor=str(cursor), timeout=timeout)
    if isinstance(answer, polling.Wait):
        answer = answer.complete()
    assert not answer.expired
    return answer.events, answer.cursor


def bodies(found):
    return [event["message"]["body"] for event in found if event["type"] == "message"]


def post(room, author, body):
    return messaging.message_post(room=room, author=author, body=body)[0]


def trim_buffer_past(cursor, author, room_factory, monkeypatch):
    """Make the hub's buffer forget everything up to `cursor`, so that polls from it read the database."""
    monkeypatch.setattr(hub_module, "BUFFER_SIZE", 1)
    for _ in range(3):
        post(room_factory(author), author, "filler")
        hub.refresh()
