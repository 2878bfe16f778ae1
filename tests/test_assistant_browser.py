"""The assistant end to end (issue 13): a real server, the real bots worker, two people in a browser.

Alice posts in a room she shares with Bob; Bob opens a DM with the Assistant
from the People page, asks "what did I miss?" in the composer and sees the
answer quoting Alice's message, with a link to it, arrive through his long
poll. The worker is `manage.py run_bots`, started here against the server's
database, as the Procfile's `bots:` line runs it.
"""
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.live import ROOT, server_env, wait_for
from tests.test_browser import CONFIRMED, browser, open_dm_from_people, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def database_url(request, sqlite_url):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return request.getfixturevalue("postgres_url")
    return sqlite_url


@pytest.fixture
def bots_worker(database_url, live_server_url, tmp_path):
    """`manage.py run_bots` on the live server's database; yields once it has taken its cursors."""
    log_path = tmp_path / "bots.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_bots", "--interval", "0.1"], cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(database_url, PYTHONUNBUFFERED=1, PARLEY_SITE_URL=live_server_url),
        )
    try:
        wait_for(lambda: "Sending bots' webhooks" in log_path.read_text() or process.poll() is not None, 60,
                 lambda: log_path.read_text())
        assert process.poll() is None, log_path.read_text()
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_bob_asks_the_assistant_what_he_missed_and_sees_alices_message(sign_up, bots_worker):
    alice, bob = sign_up("Alice", "Adams"), sign_up("Bob", "Brown")
    room = alice.create_room()
    bob.join(room["slug"])
    sent = alice.post_message(room["slug"], "The design review moved to Thursday afternoon in room B.")

    open_dm_from_people(bob, SimpleNamespace(name="Assistant"))
    bob.send("what did I miss?")

    answer = bob.page.locator(CONFIRMED).filter(has_text="design review moved to Thursday")
    expect(answer).to_have_count(1)
    expect(answer.locator(".body a[href$='#message-%d']" % sent["id"])).to_have_count(1)
    expect(answer).to_contain_text("Alice")
