"""Rate limits (parley/ratelimit.py): login, registration, sending and polling, per user and per address."""
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from parley import ratelimit
from parley.models import RateCounter
from rooms.models import Event, Message
from tests.live import PASSWORD, Http

pytestmark = pytest.mark.django_db

# The limits on the other writes (issue 9, item 4).
WRITE_LIMITS = ("ROOM_CREATE", "ROOM_UPDATE", "JOIN_LEAVE", "INVITE", "INVITED", "TYPING", "READ", "DM_OPEN", "BLOCK",
                "SEARCH")


@pytest.fixture(autouse=True)
def limits_on(settings, monkeypatch):
    """Turn the limits on with small numbers, and start every test at the same fixed time."""
    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_TRUSTED_PROXIES = 0
    settings.PARLEY_POLL_CONCURRENCY = 5
    for name in ("LOGIN_IP", "LOGIN_EMAIL", "LOGIN_EMAIL_IP", "REGISTER_IP", "SEND_USER", "SEND_IP", "POLL_USER", "POLL_IP",
                 *WRITE_LIMITS):
        setattr(settings, f"PARLEY_RATE_{name}", (1000, 60))
    clock = {"now": 1_800_000_010.0}
    monkeypatch.setattr(ratelimit, "clock", lambda: clock["now"])
    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 1_000_000)
    ratelimit.reset_local()
    yield clock
    ratelimit.reset_local()


def post(path, data, ip="10.0.0.1", client=None, **extra):
    client = client or Client()
    return client.post(path, json.dumps(data), content_type="application/json", REMOTE_ADDR=ip, **extra)


def login(email, password="wrong-password-1", ip="10.0.0.1"):
    return post("/api/auth/login", {"email": email, "password": password}, ip=ip)


def assert_limited(response, retry_after=None):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    if retry_after is not None:
        assert int(response["Retry-After"]) == retry_after


# Login ------------------------------------------------------------------------------------------


def test_login_is_limited_per_address_across_emails(settings, make_user):
    settings.PARLEY_RATE_LOGIN_IP = (3, 60)
    for n in range(3):
        assert login(f"someone{n}@example.com").status_code == 401
    # Window [1_800_000_000, 1_800_000_060), now is 10 s into it.
    assert_limited(login("someone9@example.com"), retry_after=50)
    assert login("someone9@example.com", ip="10.0.0.2").status_code == 401


def test_the_window_ends_and_logins_work_again(settings, make_user, limits_on):
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (2, 60)
    ana = make_user("Ana")
    login(ana.email)
    login(ana.email)
    assert_limited(login(ana.email, PASSWORD), retry_after=50)
    limits_on["now"] += 49.5
    assert_limited(login(ana.email, PASSWORD), retry_after=1)
    limits_on["now"] += 0.5
    assert login(ana.email, PASSWORD).status_code == 200


def test_the_login_page_and_the_admin_login_count_against_the_same_limit(settings, make_user):
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (2, 60)
    staff = make_user("Root", staff=True)
    client = Client()
    assert client.post("/login/", {"username": staff.email, "password": "nope-nope-1"}, REMOTE_ADDR="10.0.0.5").status_code == 200
    assert client.post("/admin/login/", {"username": staff.email, "password": "nope-nope-2"}, REMOTE_ADDR="10.0.0.5").status_code == 200
    for path in ("/login/", "/admin/login/"):
        refused = client.post(path, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.5")
        assert refused.status_code == 429
        assert refused["Retry-After"]
        assert "_auth_user_id" not in client.session
    assert_limited(login(staff.email, PASSWORD, ip="10.0.0.5"))
    assert login(staff.email, PASSWORD, ip="10.0.0.6").status_code == 200


def test_the_victim_logs_in_from_their_own_address_after_many_failures_from_rotating_addresses(settings, make_user):
    """Ten wrong passwords from ten addresses used to lock the account's owner out for 15 minutes."""
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (3, 900)
    settings.PARLEY_RATE_LOGIN_EMAIL = (5, 3600)
    ana = make_user("Ana", email="ana@example.com")
    attack = [login("ANA@example.com ", ip=f"10.0.1.{n}").status_code for n in range(30)]
    assert login("ana@example.com", PASSWORD, ip="10.0.2.1").status_code == 200
    assert ana.api_tokens.count() == 1
    assert attack == [401] * 30  # each address is clean, so each may try (see the next tests for the bound)
    # The HTML login page lets her in too.
    page = Client()
    response = page.post("/login/", {"username": "ana@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.2.2")
    assert response.status_code == 302 and "_auth_user_id" in page.session


def test_an_attacker_at_one_address_is_stopped_even_with_the_right_password(settings, make_user):
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (3, 900)
    ana = make_user("Ana")
    for _ in range(3):
        assert login(ana.email, ip="10.0.3.1").status_code == 401
    assert_limited(login(ana.email, ip="10.0.3.1"), retry_after=890)
    assert_limited(login(ana.email, PASSWORD, ip="10.0.3.1"))
    assert ana.api_tokens.count() == 0
    # The HTML login page counts in the same pair: it is refused too, and logs nobody in.
    page = Client()
    response = page.post("/login/", {"username": ana.email, "password": PASSWORD}, REMOTE_ADDR="10.0.3.1")
    assert response.status_code == 429 and response["Retry-After"] and "_auth_user_id" not in page.session
    # Ana herself, from her own address, is not.
    assert login(ana.email, PASSWORD, ip="10.0.3.2").status_code == 200


def test_successful_logins_do_not_use_up_the_budget(settings, make_user):
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (3, 900)
    settings.PARLEY_RATE_LOGIN_IP = (3, 900)
    settings.PARLEY_RATE_LOGIN_EMAIL = (3, 900)
    ana = make_user("Ana")
    office = [make_user(f"Colleague{n}") for n in range(5)]
    for _ in range(5):  # Ana logs in again and again, from the same address as her colleagues
        assert login(ana.email, PASSWORD, ip="10.0.4.1").status_code == 200
    for colleague in office:
        assert login(colleague.email, PASSWORD, ip="10.0.4.1").status_code == 200
    # Only failures count: the address still has its three.
    for n in range(3):
        assert login(ana.email, ip="10.0.4.1").status_code == 401, n
    assert_limited(login(ana.email, ip="10.0.4.1"))
    assert_limited(login(office[0].email, PASSWORD, ip="10.0.4.1"))  # the address limit, across emails
    assert RateCounter.objects.filter(hits__gt=3).count() == 0  # refused attempts were not counted either


def test_over_the_email_bound_each_address_gets_only_a_few_tries(settings, make_user):
    """A guess spread over many addresses slows to LOCKDOWN_TRIES per address; a clean address still gets in."""
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (10, 900)
    settings.PARLEY_RATE_LOGIN_EMAIL = (5, 3600)
    ana = make_user("Ana")
    for n in range(5):
        assert login(ana.email, ip=f"10.0.5.{n}").status_code == 401
    # Over the bound: an address may fail LOCKDOWN_TRIES times in all, not ten.
    for n in range(ratelimit.LOCKDOWN_TRIES - 1):
        assert login(ana.email, ip="10.0.5.0").status_code == 401, n
    assert_limited(login(ana.email, ip="10.0.5.0"))
    assert_limited(login(ana.email, PASSWORD, ip="10.0.5.0"))
    for n in range(ratelimit.LOCKDOWN_TRIES):
        assert login(ana.email, ip="10.0.6.1").status_code == 401, n
    assert_limited(login(ana.email, ip="10.0.6.1"))
    # Other accounts are untouched, and Ana from a clean address gets in.
    bob = make_user("Bob")
    assert login(bob.email, PASSWORD, ip="10.0.6.1").status_code == 200
    assert login(ana.email, PASSWORD, ip="10.0.7.1").status_code == 200


def test_guessing_the_old_password_of_a_password_change_counts_as_failed_logins(settings, make_user, api):
    """A session or token left open somewhere must not give unlimited guesses at the password."""
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (3, 900)
    ana = make_user("Ana")
    client = api(ana)

    def change(old):
        return client.client.post("/api/me/password", json.dumps({"old_password": old, "new_password": "a new one 77 x"}),
                                  content_type="application/json", REMOTE_ADDR="10.0.8.1")

    for n in range(3):
        assert change(f"guess-{n}-guess").status_code == 400
    assert_limited(change(PASSWORD))
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD)
    assert login(ana.email, PASSWORD, ip="10.0.8.2").status_code == 200


# Registration -----------------------------------------------------------------------------------


def register(n, ip="10.0.0.1"):
    return post("/api/auth/register", {
        "email": f"new{n}@example.com", "password": PASSWORD, "first_name": "New", "last_name": f"Person{n}",
    }, ip=ip)


def test_registration_is_limited_per_address(settings):
    from users.models import User

    settings.PARLEY_RATE_REGISTER_IP = (2, 3600)
    assert register(1).status_code == 201
    assert register(2).status_code == 201
    assert_limited(register(3))
    assert not User.objects.filter(email="new3@example.com").exists()
    assert register(4, ip="10.0.0.2").status_code == 201


def test_the_registration_page_is_limited_too(settings):
    settings.PARLEY_RATE_REGISTER_IP = (1, 3600)
    client = Client()
    form = {"email": "page@example.com", "first_name": "Pa", "last_name": "Ge", "password": PASSWORD}
    assert client.post("/register/", form, REMOTE_ADDR="10.0.0.9").status_code == 302
    refused = Client().post("/register/", {**form, "email": "page2@example.com"}, REMOTE_ADDR="10.0.0.9")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Client().get("/register/", REMOTE_ADDR="10.0.0.9").status_code == 200  # only POSTs count


# Sending ----------------------------------------------------------------------------------------


def send(client, slug, body, ip="10.0.0.1"):
    return client.client.post(
        f"/api/rooms/{slug}/messages", json.dumps({"body": body}), content_type="application/json", REMOTE_ADDR=ip,
    )


def test_sending_is_limited_per_user_and_a_refused_message_is_not_stored(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_SEND_USER = (3, 60)
    ana, bob = make_user("Ana"), make_user("Bob")
    room = room_factory(ana, "general")
    room.memberships.create(user=bob)
    ana_client, bob_client = api(ana), api(bob)
    for n in range(3):
        assert send(ana_client, room.slug, f"hi {n}", ip=f"10.1.0.{n}").status_code == 201
    assert_limited(send(ana_client, room.slug, "one too many", ip="10.1.0.9"))
    assert not Message.objects.filter(body="one too many").exists()
    assert send(bob_client, room.slug, "bob is fine").status_code == 201
    # Reading history is not sending.
    assert ana_client.get(f"/api/rooms/{room.slug}/messages").status_code == 200


def test_sending_is_limited_per_address_across_users(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_SEND_IP = (2, 60)
    ana, bob = make_user("Ana"), make_user("Bob")
    room = room_factory(ana, "general")
    room.memberships.create(user=bob)
    assert send(api(ana), room.slug, "a", ip="10.2.0.1").status_code == 201
    assert send(api(bob), room.slug, "b", ip="10.2.0.1").status_code == 201
    assert_limited(send(api(bob), room.slug, "c", ip="10.2.0.1"))
    assert send(api(bob), room.slug, "d", ip="10.2.0.2").status_code == 201


# The other writes: rooms, invitations, joins, typing, receipts, DMs -------------------------------


def test_room_creation_is_limited_per_user_and_a_refused_room_is_not_created(settings, api, make_user):
    from rooms.models import Room

    settings.PARLEY_RATE_ROOM_CREATE = (3, 3600)
    ana = api(make_user("Ana"))
    for n in range(3):
        assert ana.post("/api/rooms", {"name": f"flood {n}"}).status_code == 201
    assert_limited(ana.post("/api/rooms", {"name": "flood 3"}))
    assert not Room.objects.filter(name="flood 3").exists()
    assert api(make_user("Bob")).post("/api/rooms", {"name": "bob's"}).status_code == 201
    # The HTML form creates rooms too, and counts against the same limit.
    page = Client()
    page.force_login(ana.user)
    refused = page.post("/rooms/", {"name": "flood 4"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert not Room.objects.filter(name="flood 4").exists()


def test_room_updates_are_limited_per_user(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_ROOM_UPDATE = (2, 600)
    ana = make_user("Ana")
    room = room_factory(ana, "topical")
    client = api(ana)
    for n in range(2):
        assert client.patch(f"/api/rooms/{room.slug}", {"topic": f"topic {n}"}).status_code == 200
    assert_limited(client.patch(f"/api/rooms/{room.slug}", {"topic": "one too many"}))
    room.refresh_from_db()
    assert room.topic == "topic 1"
    assert client.get(f"/api/rooms/{room.slug}").status_code == 200  # reading is not updating


def test_inviting_is_limited_per_inviter(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_INVITE = (2, 3600)
    ana = make_user("Ana")
    room = room_factory(ana, "club", is_private=True)
    people = [make_user() for _ in range(3)]
    client = api(ana)
    for person in people[:2]:
        assert client.post(f"/api/rooms/{room.slug}/invite", {"user_id": person.id}).status_code == 200
    assert_limited(client.post(f"/api/rooms/{room.slug}/invite", {"user_id": people[2].id}))
    assert not room.memberships.filter(user=people[2]).exists()


def test_one_person_cannot_be_invited_into_many_rooms_whoever_invites(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_INVITED = (3, 3600)
    victim, other = make_user("Vic"), make_user("Otto")
    inviters = [make_user(f"Spammer{n}") for n in range(4)]
    rooms = [room_factory(inviter, f"trap {n}", is_private=True) for n, inviter in enumerate(inviters)]
    for inviter, room in zip(inviters[:3], rooms[:3]):
        assert api(inviter).post(f"/api/rooms/{room.slug}/invite", {"user_id": victim.id}).status_code == 200
    assert_limited(api(inviters[3]).post(f"/api/rooms/{rooms[3].slug}/invite", {"user_id": victim.id}))
    assert not rooms[3].memberships.filter(user=victim).exists()
    # Others are still invited, by the same people.
    assert api(inviters[3]).post(f"/api/rooms/{rooms[3].slug}/invite", {"user_id": other.id}).status_code == 200


def test_joining_and_leaving_count_together_per_user(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_JOIN_LEAVE = (4, 600)
    room = room_factory(make_user("Ana"), "lobby")
    bob = make_user("Bob")
    client = api(bob)
    for _ in range(2):
        assert client.post(f"/api/rooms/{room.slug}/join").status_code == 200
        assert client.post(f"/api/rooms/{room.slug}/leave").status_code == 204
    assert_limited(client.post(f"/api/rooms/{room.slug}/join"))
    assert not room.memberships.filter(user=bob).exists()
    # The join button of the room list page counts too.
    page = Client()
    page.force_login(bob)
    refused = page.post(f"/rooms/{room.slug}/join")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert not room.memberships.filter(user=bob).exists()


def test_search_is_limited_per_user(settings, api, make_user):
    """Search is a read, but the costliest one (full-text over every room the user is in)."""
    settings.PARLEY_RATE_SEARCH = (3, 60)
    ana = api(make_user("Ana"))
    for _ in range(3):
        assert ana.get("/api/search", {"q": "release"}).status_code == 200
    assert_limited(ana.get("/api/search", {"q": "release"}))
    assert api(make_user("Bob")).get("/api/search", {"q": "release"}).status_code == 200


def test_typing_is_limited_per_user_across_rooms_in_memory(settings, api, make_user, room_factory):
    settings.PARLEY_RATE_TYPING = (3, 10)
    ana = make_user("Ana")
    rooms = [room_factory(ana, f"typing {n}") for n in range(4)]
    client = api(ana)
    for room in rooms[:3]:
        assert client.post(f"/api/rooms/{room.slug}/typing").status_code == 204
    assert_limited(client.post(f"/api/rooms/{rooms[3].slug}/typing"))
    assert not Event.objects.filter(type=Event.TYPING, room=rooms[3]).exists()
    assert not RateCounter.objects.exists()  # counted in this process's memory, not in the database
    assert api(make_user("Bob")).post(f"/api/rooms/{rooms[0].slug}/join").status_code == 200


def test_read_receipts_are_limited_per_user(settings, api, make_user, room_factory):
    from rooms import messaging, services

    settings.PARLEY_RATE_READ = (2, 60)
    ana, bob = make_user("Ana"), make_user("Bob")
    room = room_factory(ana, "reading")
    services.room_join(room=room, user=bob)
    ids = [messaging.message_post(room=room, author=ana, body=f"m{n}")[0].id for n in range(3)]
    client = api(bob)
    for message_id in ids[:2]:
        assert client.post(f"/api/rooms/{room.slug}/read", {"message_id": message_id}).status_code == 204
    assert_limited(client.post(f"/api/rooms/{room.slug}/read", {"message_id": ids[2]}))
    assert room.memberships.get(user=bob).last_read_message_id == ids[1]


def test_opening_direct_messages_is_limited_per_user(settings, api, make_user):
    from rooms.models import Room

    settings.PARLEY_RATE_DM_OPEN = (2, 3600)
    spammer = api(make_user("Sam"))
    targets = [make_user() for _ in range(3)]
    for target in targets[:2]:
        assert spammer.post("/api/dms", {"user_id": target.id}).status_code == 201
    assert_limited(spammer.post("/api/dms", {"user_id": targets[2].id}))
    assert Room.objects.filter(kind=Room.DM).count() == 2


def test_blocking_and_unblocking_count_together_per_user(settings, api, make_user):
    settings.PARLEY_RATE_BLOCK = (3, 3600)
    ana, bob, cy = make_user("Ana"), make_user("Bob"), make_user("Cy")
    client = api(ana)
    assert client.post("/api/blocks", {"user_id": bob.id}).status_code == 201
    assert client.client.delete(f"/api/blocks/{bob.id}").status_code == 204
    assert client.post("/api/blocks", {"user_id": bob.id}).status_code == 201
    assert_limited(client.post("/api/blocks", {"user_id": cy.id}))
    assert_limited(client.client.delete(f"/api/blocks/{bob.id}"))
    assert client.get("/api/blocks").json()["users"][0]["id"] == bob.id  # reading is not limited


# Polling ----------------------------------------------------------------------------------------


def test_polling_is_limited_per_user(settings, api, make_user):
    settings.PARLEY_RATE_POLL_USER = (3, 60)
    ana = make_user("Ana")
    client = api(ana)
    for _ in range(3):
        assert client.get("/api/events").status_code == 200
    assert_limited(client.get("/api/events"))
    assert api(make_user("Bob")).get("/api/events").status_code == 200


def test_polling_is_limited_per_address(settings, api, make_user):
    settings.PARLEY_RATE_POLL_IP = (2, 60)
    ana, bob = api(make_user("Ana")), api(make_user("Bob"))
    assert ana.client.get("/api/events", REMOTE_ADDR="10.3.0.1").status_code == 200
    assert bob.client.get("/api/events", REMOTE_ADDR="10.3.0.1").status_code == 200
    assert_limited(bob.client.get("/api/events", REMOTE_ADDR="10.3.0.1"))
    assert bob.client.get("/api/events", REMOTE_ADDR="10.3.0.2").status_code == 200


def test_the_sixth_concurrent_poll_of_a_user_is_refused(api, make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    client = api(ana)
    slots = [ratelimit.poll_slot(ana.id) for _ in range(5)]
    for slot in slots:  # five polls of Ana's are waiting in this process
        slot.__enter__()
    response = client.get("/api/events")
    assert_limited(response, retry_after=ratelimit.POLL_BUSY_RETRY_AFTER)
    assert api(bob).get("/api/events").status_code == 200
    slots.pop().__exit__(None, None, None)
    assert client.get("/api/events").status_code == 200
    assert ratelimit._polls.open_count(ana.id) == 4  # the poll gave its slot back
    for slot in slots:
        slot.__exit__(None, None, None)
    assert ratelimit._polls.open_count(ana.id) == 0


def test_waiting_polls_are_capped_per_address_unless_the_cap_is_off(settings, api, make_user):
    settings.PARLEY_RATE_LIMITS = False
    settings.PARLEY_TRUSTED_PROXIES = 1
    settings.PARLEY_POLL_CONCURRENCY_IP = 2
    ana, bob, cy = make_user("Ana"), make_user("Bob"), make_user("Cy")
    slots = [ratelimit.poll_slot(user.id, "198.51.100.1") for user in (ana, bob)]
    for slot in slots:  # Ana and Bob wait, from one office's address
        slot.__enter__()
    office, home = {"HTTP_X_FORWARDED_FOR": "198.51.100.1"}, {"HTTP_X_FORWARDED_FOR": "198.51.100.2"}
    assert_limited(api(cy).client.get("/api/events", **office), retry_after=ratelimit.POLL_BUSY_RETRY_AFTER)
    assert ratelimit._polls.open_count(cy.id) == 0  # refused for the address: Cy's own slot went back
    assert api(cy).client.get("/api/events", **home).status_code == 200
    settings.PARLEY_POLL_CONCURRENCY_IP = None  # "off"
    assert api(cy).client.get("/api/events", **office).status_code == 200
    for slot in slots:
        slot.__exit__(None, None, None)
    assert ratelimit._address_polls.open_count("198.51.100.1") == 0


def test_a_failing_poll_gives_its_slot_back(api, make_user):
    ana = make_user("Ana")
    client = api(ana)
    for _ in range(10):
        assert client.get("/api/events", {"cursor": "not-a-cursor"}).status_code == 400
    assert ratelimit._polls.open_count(ana.id) == 0
    assert ratelimit._address_polls.open_count("127.0.0.1") == 0


# Switches and addresses -------------------------------------------------------------------------


def test_rate_limits_off_lets_everything_through(settings, make_user, api):
    settings.PARLEY_RATE_LIMITS = False
    settings.PARLEY_RATE_LOGIN_EMAIL = settings.PARLEY_RATE_LOGIN_IP = settings.PARLEY_RATE_POLL_USER = (1, 60)
    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (1, 60)
    ana = make_user("Ana")
    for _ in range(5):
        assert login(ana.email).status_code == 401
    assert login(ana.email, PASSWORD).status_code == 200
    for _ in range(5):
        assert api(ana).get("/api/events").status_code == 200
    assert not RateCounter.objects.exists()


def test_rate_limits_off_keeps_the_cap_on_waiting_polls(settings, make_user, api):
    # The cap is what keeps one user from holding a worker's connections: a
    # safety limit, not a rate limit, so it holds with PARLEY_RATE_LIMITS=off.
    settings.PARLEY_RATE_LIMITS = False
    ana, bob = make_user("Ana"), make_user("Bob")
    slots = [ratelimit.poll_slot(ana.id) for _ in range(5)]
    for slot in slots:
        slot.__enter__()
    assert_limited(api(ana).get("/api/events"), retry_after=ratelimit.POLL_BUSY_RETRY_AFTER)
    assert api(bob).get("/api/events").status_code == 200
    for slot in slots:
        slot.__exit__(None, None, None)
    assert api(ana).get("/api/events").status_code == 200


def test_the_environment_spells_limits_as_count_per_period(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import env_bool, env_rate

    for value, expected in [("10/5m", (10, 300)), ("3/1h", (3, 3600)), ("7/30", (7, 30)), ("2/45s", (2, 45)), ("off", None)]:
        monkeypatch.setenv("PARLEY_TEST_RATE", value)
        assert env_rate("PARLEY_TEST_RATE", "1/1m") == expected
    for bad in ("ten/5m", "10/", "10/xm", "0/1m"):
        monkeypatch.setenv("PARLEY_TEST_RATE", bad)
        with pytest.raises(ImproperlyConfigured):
            env_rate("PARLEY_TEST_RATE", "1/1m")
    monkeypatch.setenv("PARLEY_RATE_LIMITS", "off")
    assert env_bool("PARLEY_RATE_LIMITS", default=True) is False


def test_the_environment_spells_a_cap_as_a_number_or_off(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import env_cap

    for value, expected in [("", 200), ("7", 7), ("off", None), ("OFF", None)]:
        monkeypatch.setenv("PARLEY_TEST_CAP", value)
        assert env_cap("PARLEY_TEST_CAP", 200) == expected
    for bad in ("0", "-1", "many", "5/1m"):
        monkeypatch.setenv("PARLEY_TEST_CAP", bad)
        with pytest.raises(ImproperlyConfigured):
            env_cap("PARLEY_TEST_CAP", 200)


def request_from(remote, forwarded=None):
    from django.test import RequestFactory

    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_the_client_address_ignores_x_forwarded_for_unless_proxies_are_trusted(settings):
    settings.PARLEY_TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(request_from("203.0.113.7", "1.2.3.4")) == "203.0.113.7"
    settings.PARLEY_TRUSTED_PROXIES = 1
    # The client wrote "1.2.3.4" itself; our proxy appended the address it really saw.
    assert ratelimit.client_ip(request_from("127.0.0.1", "1.2.3.4, 198.51.100.9")) == "198.51.100.9"
    assert ratelimit.client_ip(request_from("127.0.0.1")) == "127.0.0.1"
    assert ratelimit.client_ip(request_from("127.0.0.1", "garbage")) == "127.0.0.1"
    settings.PARLEY_TRUSTED_PROXIES = 2
    assert ratelimit.client_ip(request_from("127.0.0.1", "1.2.3.4, 198.51.100.9, 10.0.0.2")) == "198.51.100.9"


def test_an_ipv6_client_counts_as_its_slash_64(settings):
    first = ratelimit.client_ip(request_from("2001:db8:1:2::1"))
    assert first == ratelimit.client_ip(request_from("2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert ratelimit.client_ip(request_from("2001:db8:1:3::1")) != first
    assert ratelimit.client_ip(request_from("::ffff:192.0.2.1")) == "192.0.2.1"


def test_forwarded_addresses_are_counted_separately_behind_a_trusted_proxy(settings):
    settings.PARLEY_TRUSTED_PROXIES = 1
    settings.PARLEY_RATE_LOGIN_IP = (1, 60)
    assert post("/api/auth/login", {"email": "a@example.com", "password": "x-x-x-x-1"},
                ip="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 401
    assert post("/api/auth/login", {"email": "a@example.com", "password": "x-x-x-x-1"},
                ip="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 401
    assert_limited(post("/api/auth/login", {"email": "a@example.com", "password": "x-x-x-x-1"},
                        ip="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.2"))


# The shared counter ------------------------------------------------------------------------------


def test_the_shared_counter_keeps_one_row_per_key_and_old_rows_are_pruned(settings, limits_on):
    settings.PARLEY_RATE_SEND_USER = (5, 60)
    now = limits_on["now"]
    for _ in range(3):
        ratelimit.check(ratelimit.SEND_USER, "user:1", now=now)
    ratelimit.check(ratelimit.SEND_USER, "user:2", now=now)
    assert sorted(RateCounter.objects.values_list("hits", flat=True)) == [1, 3]
    assert RateCounter.objects.filter(key__contains="user").count() == 0  # keys are hashed
    ratelimit.check(ratelimit.SEND_USER, "user:1", now=now + 60)  # a new window restarts the count
    assert sorted(RateCounter.objects.values_list("hits", flat=True)) == [1, 1]
    assert ratelimit.prune(now=now + 60) == 1  # user:2's window is over
    assert RateCounter.objects.count() == 1


def test_a_host_with_a_slow_clock_counts_in_the_current_window(settings, limits_on):
    settings.PARLEY_RATE_SEND_USER = (2, 60)
    now = limits_on["now"]
    ratelimit.check(ratelimit.SEND_USER, "user:1", now=now + 60)
    ratelimit.check(ratelimit.SEND_USER, "user:1", now=now + 59.9 - 10)  # the previous window, 0.1 s behind
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check(ratelimit.SEND_USER, "user:1", now=now + 60)


def _at_once(count, check):
    """Run `check` on `count` connections released together; return which passed (True) or were limited."""
    barrier = threading.Barrier(count)

    def attempt(_):
        try:
            barrier.wait(10)
            check()
            return True
        except ratelimit.RateLimited:
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(attempt, range(count)))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_from_many_connections_never_let_more_through(settings, limits_on):
    """Twenty connections at once, limit eight: exactly eight pass (the UPSERT is atomic)."""
    if connection.vendor != "postgresql":
        # The SQLite test database is in memory with a shared cache, where a
        # second writer fails at once ("table is locked") instead of waiting.
        # A SQLite deployment runs one process, whose greenlets take turns.
        pytest.skip("needs the PostgreSQL test database (DATABASE_URL=postgres://...)")
    settings.PARLEY_RATE_SEND_USER = (8, 60)
    results = _at_once(20, lambda: ratelimit.check(ratelimit.SEND_USER, "user:race"))
    assert results.count(True) == 8
    assert RateCounter.objects.get().hits == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_never_get_more_than_the_limit_through(settings, limits_on):
    """Twenty wrong passwords at once from one address, limit eight: exactly eight are checked."""
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL test database (DATABASE_URL=postgres://...)")
    from django.test import RequestFactory

    settings.PARLEY_RATE_LOGIN_EMAIL_IP = (8, 60)
    # Each attempt that gets through is then a wrong password: its hit stays.
    results = _at_once(20, lambda: ratelimit.login_attempt(
        RequestFactory().post("/", REMOTE_ADDR="10.9.0.1"), "ana@example.com"))
    assert results.count(True) == 8
    assert sorted(RateCounter.objects.values_list("hits", flat=True)) == [8, 8, 8]  # refusals were refunded


# Real servers ------------------------------------------------------------------------------------


def login_live(base_url, email, password):
    return Http(base_url).post("/api/auth/login", {"email": email, "password": password}, timeout=30)


@pytest.mark.postgres
@pytest.mark.server
def test_two_hosts_on_one_postgresql_share_the_login_limit(start_server, postgres_url):
    """Two servers (two hosts, two workers each) count failures in the same rows."""
    env = {"PARLEY_RATE_LIMITS": "on", "PARLEY_RATE_LOGIN_EMAIL_IP": "2/1h"}
    hosts = [start_server(postgres_url, workers=2, **env), start_server(postgres_url, workers=2, **env)]
    email = f"target-{time.monotonic_ns()}@example.com"
    statuses = [login_live(hosts[n % 2].url, email, f"guess-{n}-xyz")[0] for n in range(5)]
    # Counted per host, the third and fourth attempts would still be 401.
    assert statuses == [401, 401, 429, 429, 429]


@pytest.mark.server
def test_a_real_server_refuses_the_sixth_waiting_poll(start_server, sqlite_url):
    server = start_server(sqlite_url, PARLEY_RATE_LIMITS="on", PARLEY_POLL_CONCURRENCY=5)
    ana = Http.signup(server.url, "Ana")
    status, body = ana.get("/api/events")
    assert status == 200
    cursor = body["cursor"]
    status, body = ana.post("/api/rooms", {"name": f"poll cap {time.monotonic_ns()}"})
    assert status == 201
    slug = body["room"]["slug"]
    status, body = ana.get("/api/events?cursor=" + cursor)  # skip the room's own "created" event
    cursor = body["cursor"]

    def wait_for_events():
        for _ in range(200):  # refused while the probe below holds a slot: try again
            status, body = ana.get(f"/api/events?cursor={cursor}&timeout=20")
            if status != 429:
                return status, body
            time.sleep(0.02)
        return status, body

    with ThreadPoolExecutor(5) as pool:
        waiting = [pool.submit(wait_for_events) for _ in range(5)]
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:  # until five polls hold all of Ana's slots
            status, body = ana.get(f"/api/events?cursor={cursor}&timeout=0")
            if status == 429:
                break
            time.sleep(0.05)
        assert status == 429, "the sixth poll was never refused"
        assert body["error"]["code"] == "rate_limited"
        started = time.monotonic()
        assert ana.post(f"/api/rooms/{slug}/messages", {"body": "wake up"})[0] == 201
        answers = [future.result(timeout=10) for future in waiting]
    assert time.monotonic() - started < 5
    assert all(status == 200 for status, _ in answers)
    assert all(any(e["type"] == "message" for e in body["events"]) for _, body in answers)
    assert ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] == 200


def poll_from(server, client, address, query, timeout=30):
    """A poll as `client`, arriving through a trusted proxy that saw it come from `address`."""
    request = urllib.request.Request(f"{server.url}/api/events?{query}")
    request.add_header("Authorization", f"Token {client.token}")
    request.add_header("X-Forwarded-For", address)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.server
def test_a_real_server_caps_waiting_polls_per_address_across_users(start_server, sqlite_url):
    # Issue 9, item 9a. Rate limits stay off (as in tests/live.py): the cap holds regardless.
    server = start_server(sqlite_url, PARLEY_POLL_CONCURRENCY_IP=3, PARLEY_TRUSTED_PROXIES=1)
    people = [Http.signup(server.url, name) for name in ("Ana", "Ben", "Cy", "Di")]
    ana, *others = people
    status, body = ana.post("/api/rooms", {"name": f"address cap {time.monotonic_ns()}"})
    assert status == 201
    slug = body["room"]["slug"]
    for person in others:
        assert person.post(f"/api/rooms/{slug}/join")[0] == 200
    for person in people:  # a first poll puts each online, which the others' polls would hear
        assert person.get("/api/events")[0] == 200
    cursors = {person.user["id"]: person.get("/api/events")[1]["cursor"] for person in people}
    office, elsewhere = "198.51.100.1", "198.51.100.2"

    def wait_for_events(person):
        for _ in range(200):  # refused while the probe below holds a slot: try again
            status, body = poll_from(server, person, office, f"cursor={cursors[person.user['id']]}&timeout=20")
            if status != 429:
                return status, body
            time.sleep(0.02)
        return status, body

    di = people[3]
    probe = f"cursor={cursors[di.user['id']]}&timeout=0"
    with ThreadPoolExecutor(3) as pool:
        waiting = [pool.submit(wait_for_events, person) for person in people[:3]]
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:  # until Ana, Ben and Cy hold the office's three slots
            status, body = poll_from(server, di, office, probe)
            if status == 429:
                break
            time.sleep(0.05)
        assert status == 429, "the fourth waiting poll from one address was never refused"
        assert body["error"]["code"] == "rate_limited"
        assert poll_from(server, di, elsewhere, probe)[0] == 200  # another address has slots of its own
        assert ana.post(f"/api/rooms/{slug}/messages", {"body": "wake up"})[0] == 201
        answers = [future.result(timeout=10) for future in waiting]
    assert all(status == 200 for status, _ in answers), answers
    assert all(any(e["type"] == "message" for e in body["events"]) for _, body in answers)
    assert poll_from(server, di, office, probe)[0] == 200  # the slots came back
