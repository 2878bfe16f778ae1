"""Presence (issue 4): online on the first poll, offline after the window, only to co-members.

The clock is controlled: flush_seen/sweep_offline take `now=`; the maintenance
loop that calls them in production is off in tests.
"""
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from rooms import presence
from rooms.hub import hub
from users.serializers import isoformat


from .test_social import REF_KEYS

pytestmark = pytest.mark.django_db

WINDOW = timedelta(seconds=60)


def presence_of(events, user):
    return [(e["status"], e["last_seen"]) for e in events if e["type"] == "presence" and e["user"]["id"] == user.id]


@pytest.fixture
def trio(make_user, room_factory):
    """Ana and Ben share a private room; Eve shares no room with either."""
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    room = room_factory(ana, "pair", is_private=True)
    from rooms import services

    services.room_invite(room=room, inviter=ana, invitee=ben)
    return ana, ben, eve, room


def test_the_first_poll_puts_a_user_online_for_co_members_only(api, trio, feed):
    ana, ben, eve, _ = trio
    ben_feed, eve_feed = feed(ben), feed(eve)
    ben_feed.take(), eve_feed.take()

    before = timezone.now()
    ana_feed = feed(ana)
    [event] = [e for e in ben_feed.take() if e["user"]["id"] == ana.id]
    assert set(event) == {"type", "user", "status", "last_seen"}  # no "room": presence is per user
    assert set(event["user"]) == REF_KEYS
    assert (event["type"], event["user"]["id"], event["status"]) == ("presence", ana.id, "online")
    assert event["last_seen"].endswith("Z") and event["last_seen"] >= isoformat(before)[:19]
    ana.refresh_from_db()
    assert ana.is_online and ana.last_seen >= before - timedelta(milliseconds=1)
    # Ana's cursor starts after her own `online`; Eve, who shares no room with Ana, never sees it.
    assert presence_of(ana_feed.take(), ana) == []
    assert eve_feed.take() == []

    # Polling again while online publishes nothing new.
    ana_feed.take(), ana_feed.take()
    assert ben_feed.take() == []


def test_a_silent_user_goes_offline_after_the_window_with_last_seen(api, trio, feed):
    ana, ben, eve, room = trio
    ben_feed, eve_feed = feed(ben), feed(eve)
    feed(ana)
    ben_feed.take(), eve_feed.take()
    t0 = timezone.now()
    presence.flush_seen(now=t0)  # what the maintenance loop writes for the polls it saw

    assert presence.sweep_offline(now=t0 + WINDOW - timedelta(seconds=1)) == 0
    assert presence_of(ben_feed.take(), ana) == []
    swept = presence.sweep_offline(now=t0 + WINDOW + timedelta(seconds=1))
    assert swept == 3  # Ana, Ben and Eve all fell silent
    assert presence_of(ben_feed.take(), ana) == [("offline", isoformat(t0))]
    assert presence_of(eve_feed.take(), ana) == []
    ana.refresh_from_db()
    assert not ana.is_online and ana.last_seen == t0
    # Ana stays offline, announced once (Ben and Eve are back: they just polled).
    presence.flush_seen(now=t0 + 2 * WINDOW)
    assert presence.sweep_offline(now=t0 + 2 * WINDOW) == 0
    assert presence_of(ben_feed.take(), ana) == []

    # The directory and the member list say the same.
    [listed] = api(ben).get("/api/users", {"q": "Ana"}).json()["users"]
    assert (listed["presence"], listed["last_seen"]) == ("offline", isoformat(t0))
    members = {m["id"]: m for m in api(ben).get(f"/api/rooms/{room.slug}").json()["members"]}
    assert (members[ana.id]["presence"], members[ana.id]["last_seen"]) == ("offline", isoformat(t0))

    # Coming back is one `online` event.
    feed(ana)
    assert [s for s, _ in presence_of(ben_feed.take(), ana)] == ["online"]
    [listed] = api(ben).get("/api/users", {"q": "Ana"}).json()["users"]
    assert listed["presence"] == "online"


def test_directory_and_members_show_presence_fields(api, trio, feed):
    ana, ben, _, room = trio
    feed(ana)
    users = {u["id"]: u for u in api(ben).get("/api/users").json()["users"]}
    assert (users[ana.id]["presence"], users[ben.id]["presence"]) == ("online", "offline")
    assert users[ana.id]["last_seen"].endswith("Z") and users[ben.id]["last_seen"] is None
    assert {"id", "first_name", "last_name", "display_name", "is_staff", "presence", "last_seen"} <= set(users[ana.id])
    assert "email" not in users[ana.id]  # other users' email is for staff only
    members = {m["id"]: m for m in api(ben).get(f"/api/rooms/{room.slug}").json()["members"]}
    assert (members[ana.id]["presence"], members[ben.id]["presence"]) == ("online", "offline")


def test_a_user_whose_poll_is_waiting_is_never_swept_offline(api, trio, feed):
    ana, ben, _, _ = trio
    ben_feed = feed(ben)
    feed(ana)
    ben_feed.take()
    t0 = timezone.now()
    presence.flush_seen(now=t0)

    # Ana's next poll waits (one long poll can outlast the window); the hub knows.
    hub.refresh()
    waiting = threading.Thread(target=hub.wait, args=(ana.id, set(), int(ben_feed.cursor), 10), daemon=True)
    waiting.start()
    deadline = time.monotonic() + 5
    while ana.id not in hub.waiting_user_ids and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        assert ana.id in hub.waiting_user_ids
        # What the maintenance loop does every ~10 s, 50 s into Ana's wait, then later.
        presence.flush_seen(extra_user_ids=hub.waiting_user_ids, now=t0 + timedelta(seconds=50))
        presence.sweep_offline(now=t0 + timedelta(seconds=61))
        presence.flush_seen(extra_user_ids=hub.waiting_user_ids, now=t0 + timedelta(seconds=100))
        presence.sweep_offline(now=t0 + timedelta(seconds=121))
    finally:
        hub.release_all()
        waiting.join(5)
    ana.refresh_from_db()
    ben.refresh_from_db()
    assert ana.is_online and ana.last_seen == t0 + timedelta(seconds=100)
    assert not ben.is_online
    assert presence_of(ben_feed.take(), ana) == []
