"""GET/PATCH /api/v1/me and GET /api/v1/users?q= (docs/api.md sections 0 and 1)."""

import pytest
from rest_framework.test import APIClient

from accounts.actions.friends import check_block
from accounts.models import User

pytestmark = pytest.mark.django_db(databases="__all__")


def test_me_needs_authentication():
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_me_get_and_patch(make_user, client_for):
    alice = make_user("alice")
    client = client_for(alice)
    assert client.get("/api/v1/me").json() == {"id": alice.id, "username": "alice", "display_name": "alice",
                                               "avatar_url": None, "language": None, "email": ""}
    response = client.patch("/api/v1/me", {"display_name": " Alice Liddell "}, format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Alice Liddell"
    assert client.get("/api/v1/me").json()["display_name"] == "Alice Liddell"
    # an empty body changes nothing
    assert client.patch("/api/v1/me", {}, format="json").json()["display_name"] == "Alice Liddell"


@pytest.mark.parametrize("body, field", [
    ({"display_name": "x" * 65}, "display_name"),
    ({"display_name": 5}, "display_name"),
    ({"display_name": ["a"]}, "display_name"),
    ({"avatar_attachment_id": 999999}, "avatar_attachment_id"),
    ({"avatar_attachment_id": "abc"}, "avatar_attachment_id"),
    ({"avatar_attachment_id": True}, "avatar_attachment_id"),
    ({"display_name": "ok", "avatar_attachment_id": -1}, "avatar_attachment_id"),
])
def test_me_patch_refuses_bad_fields(make_user, client_for, body, field):
    alice = make_user("alice", "Alice")
    response = client_for(alice).patch("/api/v1/me", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["fields"]
    alice.refresh_from_db()
    assert alice.display_name == "Alice" and alice.avatar_id is None


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [u["username"] for u in response.json()["results"]]


def test_search_by_prefix_of_username_or_display_name(make_user, client_for):
    viewer = make_user("alfred")
    make_user("alice", "Zed")
    make_user("bob", "Alison")
    make_user("carol", "Bob the Builder")
    make_user("xalice")
    client = client_for(viewer)
    assert _names(client.get("/api/v1/users", {"q": "al"})) == ["alice", "bob"]  # not alfred himself
    assert _names(client.get("/api/v1/users", {"q": "AL"})) == ["alice", "bob"]
    assert _names(client.get("/api/v1/users", {"q": "bob"})) == ["bob", "carol"]
    assert _names(client.get("/api/v1/users", {"q": "lice"})) == []  # a prefix, not a substring
    assert client.get("/api/v1/users", {"q": ""}).json() == {"results": [], "next": None}
    user = client.get("/api/v1/users", {"q": "zed"}).json()["results"][0]
    assert set(user) == {"id", "username", "display_name", "avatar_url"} and user["display_name"] == "Zed"


def test_search_leaves_out_users_who_blocked_the_caller(make_user, client_for):
    viewer, hater, blocked = make_user("viewer"), make_user("vhater"), make_user("vblocked")
    check_block(hater, viewer.id)
    check_block(viewer, blocked.id)  # the caller's own blocks still show (so they can be found)
    assert _names(client_for(viewer).get("/api/v1/users", {"q": "v"})) == ["vblocked"]
    assert _names(client_for(hater).get("/api/v1/users", {"q": "v"})) == ["viewer", "vblocked"]  # by id


def test_search_pages_with_limit_and_cursor(make_user, client_for):
    viewer = make_user("viewer")
    User.objects.bulk_create([User(username=f"p{i:03d}", password="!") for i in range(205)])
    client = client_for(viewer)
    first = client.get("/api/v1/users", {"q": "p"}).json()
    assert len(first["results"]) == 50 and isinstance(first["next"], str)  # default limit
    big = client.get("/api/v1/users", {"q": "p", "limit": 500}).json()
    assert len(big["results"]) == 200  # above 200 is taken as 200
    seen, cursor = [], None
    while True:
        params = {"q": "p", "limit": 60} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/users", params).json()
        seen += [u["username"] for u in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"p{i:03d}" for i in range(205)]


@pytest.mark.parametrize("params, field", [
    ({"cursor": "not a cursor!"}, "cursor"), ({"cursor": "eyJ4IjoxfQ"}, "cursor"),
    ({"limit": "many"}, "limit"), ({"limit": 0}, "limit"),
])
def test_search_refuses_bad_paging(make_user, client_for, params, field):
    response = client_for(make_user()).get("/api/v1/users", {"q": "u"} | params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
