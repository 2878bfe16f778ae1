"""Blocking another user (GET/POST /api/blocks, DELETE /api/blocks/{user_id}): the list itself.

What a block does to DMs, invitations, history, search and the poll is in
tests/rooms/test_blocking.py.
"""
import pytest

from tests.conftest import error_of

pytestmark = pytest.mark.django_db


def blocks():
    from users.models import Block

    return Block.objects


def blocked_ids(client):
    response = client.get("/api/blocks")
    assert response.status_code == 200, response.content
    return [user["id"] for user in response.json()["users"]]


def test_a_user_blocks_lists_and_unblocks_another(api, make_user):
    ana, bob, cy = make_user("Ana"), make_user("Bob"), make_user("Cy")
    client = api(ana)
    response = client.post("/api/blocks", {"user_id": bob.id})
    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == bob.id
    assert "email" not in response.json()["user"]  # a user, as anyone but staff sees them
    assert client.post("/api/blocks", {"user_id": bob.id}).status_code == 200  # again: nothing new
    assert client.post("/api/blocks", {"user_id": cy.id}).status_code == 201
    assert sorted(blocked_ids(client)) == sorted([bob.id, cy.id])

    response = client.client.delete(f"/api/blocks/{bob.id}")
    assert response.status_code == 204
    assert blocked_ids(client) == [cy.id]
    assert client.client.delete(f"/api/blocks/{bob.id}").status_code == 204  # idempotent
    assert client.client.delete("/api/blocks/999999").status_code == 204
    assert client.client.delete("/api/blocks/" + "9" * 30).status_code == 204  # beyond any id: no 500


def test_whom_i_block_is_mine_to_know(api, make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    assert api(ana).post("/api/blocks", {"user_id": bob.id}).status_code == 201
    assert blocked_ids(api(bob)) == []
    assert api(bob).client.delete(f"/api/blocks/{bob.id}").status_code == 204
    assert blocks().filter(blocker=ana, blocked=bob).exists()


@pytest.mark.parametrize("payload", [
    {}, {"user_id": None}, {"user_id": "2"}, {"user_id": 2.5}, {"user_id": True}, {"user_id": 0}, {"user_id": -1},
    {"user_id": 10 ** 30},
])
def test_bad_block_requests_are_400_and_change_nothing(api, make_user, payload):
    client = api(make_user("Ana"))
    make_user("Bob")
    error_of(client.post("/api/blocks", payload), 400, "invalid")
    assert not blocks().exists()


def test_blocking_yourself_an_unknown_or_a_pending_user_is_400(api, make_user):
    ana, pending = make_user("Ana"), make_user("Pat", approved=False)
    client = api(ana)
    for user_id in (ana.id, pending.id, 999_999):
        error = error_of(client.post("/api/blocks", {"user_id": user_id}), 400, "invalid")
        assert "user_id" in error["fields"]
    assert not blocks().exists()


def test_blocks_need_a_logged_in_user(db, make_user):
    from django.test import Client

    bob = make_user("Bob")
    assert Client().get("/api/blocks").status_code == 401
    assert Client().post("/api/blocks", {"user_id": bob.id}, content_type="application/json").status_code == 401
    assert Client().delete(f"/api/blocks/{bob.id}").status_code == 401


def test_blocks_answer_only_their_methods(api, make_user):
    client = api(make_user("Ana"))
    assert client.client.put("/api/blocks").status_code == 405
    assert client.get("/api/blocks/1").status_code == 405
    assert client.client.get("/api/blocks/not-a-number").status_code == 404
