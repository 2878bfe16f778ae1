"""'Forgot password?' (Django's password-reset views, users/urls.py): the mail, the new password,
what it revokes, what it never reveals, and its rate limits."""
import re

import pytest
from django.core import mail
from django.test import Client

from parley import ratelimit
from tests.live import PASSWORD
from tests.users.test_settings_page import browser as logged_in_client, logged_in, token_works
from users.services import token_create

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 7"
LINK = re.compile(r"http://testserver(/password-reset/[^/\s]+/[^/\s]+/)")


def ask_reset(email, client=None, ip="10.0.0.1"):
    return (client or Client()).post("/password-reset/", {"email": email}, REMOTE_ADDR=ip)


def reset_with_link(link, password=NEW_PASSWORD):
    client = Client()
    form_page = client.get(link)  # Django moves the token into the session and redirects
    assert form_page.status_code == 302, form_page.status_code
    set_url = form_page["Location"]
    assert "name=\"new_password1\"" in client.get(set_url).content.decode()
    return client, client.post(set_url, {"new_password1": password, "new_password2": password})


def test_the_login_page_links_to_forgot_password():
    html = Client().get("/login/").content.decode()
    assert '<a href="/password-reset/">Forgot password?</a>' in html
    assert 'name="email"' in Client().get("/password-reset/").content.decode()


def test_a_known_email_gets_a_link_that_sets_a_new_password_and_ends_every_session_and_token(make_user):
    ana = make_user("Ana")
    session, token = logged_in_client(ana), token_create(user=ana)
    response = ask_reset(ana.email.upper())  # emails are case-insensitive
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [ana.email] and sent.subject == "Your Parley password"
    link = LINK.search(sent.body)[1]

    client, done = reset_with_link(link)
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    ana.refresh_from_db()
    assert ana.check_password(NEW_PASSWORD)
    assert not logged_in(session) and not token_works(token)
    assert not logged_in(client)  # the reset logs nobody in
    assert Client().post("/login/", {"username": ana.email, "password": NEW_PASSWORD}).status_code == 302
    # The link works once.
    used = Client().get(link, follow=True)
    assert "This link no longer works" in used.content.decode()


def test_an_unknown_email_gets_the_same_answer_and_no_mail(make_user):
    ana = make_user("Ana")
    known, unknown = ask_reset(ana.email), ask_reset("nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [[ana.email]]
    page = Client().get(known["Location"]).content.decode()
    assert "If an account uses that email" in page


def test_bots_and_deactivated_people_get_no_mail(make_user):
    from rooms.bots import bot_create

    ana, gone = make_user("Ana"), make_user("Gone")
    gone.is_active = False
    gone.save()
    bot = bot_create(owner=ana, name="Helper").bot
    for email in (gone.email, bot.email):
        assert ask_reset(email)["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_refused_new_password_says_why_and_changes_nothing(make_user):
    ana = make_user("Ana")
    ask_reset(ana.email)
    token = token_create(user=ana)
    _client, refused = reset_with_link(LINK.search(mail.outbox[0].body)[1], password="short")
    assert refused.status_code == 200 and "too short" in refused.content.decode()
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD) and token_works(token)


def test_a_forged_link_says_it_no_longer_works_and_changes_nothing(make_user):
    ana = make_user("Ana")
    page = Client().get("/password-reset/MQ/abc-123/", follow=True)
    assert page.status_code == 200 and "This link no longer works" in page.content.decode()
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD)


def test_a_malformed_email_is_refused_on_the_form(make_user):
    response = ask_reset("not an email")
    assert response.status_code == 200 and "Enter a valid email address" in response.content.decode()
    assert mail.outbox == []


@pytest.fixture
def limits_on(settings, monkeypatch):
    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_TRUSTED_PROXIES = 0
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_010.0)
    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 1_000_000)


def test_the_form_is_limited_per_address(settings, limits_on, make_user):
    settings.PARLEY_RATE_PASSWORD_RESET_IP = (2, 3600)
    settings.PARLEY_RATE_PASSWORD_RESET_EMAIL = (100, 3600)
    ana = make_user("Ana")
    assert ask_reset(ana.email).status_code == 302
    assert ask_reset("nobody@example.com").status_code == 302
    refused = ask_reset(ana.email)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert len(mail.outbox) == 1
    assert Client().get("/password-reset/", REMOTE_ADDR="10.0.0.1").status_code == 200  # only POSTs count
    assert ask_reset(ana.email, ip="10.0.0.2").status_code == 302


def test_one_email_gets_only_a_few_mails_and_the_answer_stays_the_same(settings, limits_on, make_user):
    settings.PARLEY_RATE_PASSWORD_RESET_IP = (100, 3600)
    settings.PARLEY_RATE_PASSWORD_RESET_EMAIL = (2, 3600)
    ana = make_user("Ana")
    answers = [ask_reset(ana.email, ip=f"10.0.0.{n}") for n in range(1, 5)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/password-reset/sent/")}
    assert len(mail.outbox) == 2
    # An unknown email over its share answers just the same.
    unknown = [ask_reset("nobody@example.com") for _ in range(3)]
    assert {(a.status_code, a["Location"]) for a in unknown} == {(302, "/password-reset/sent/")}
