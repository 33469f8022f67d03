"""Friend requests, friendships and blocks over REST (docs/api.md section 2)."""

import pytest

from accounts.models import Block, FriendRequest, Friendship

pytestmark = pytest.mark.django_db(databases="__all__")


def send(client, to_user_id, message=None):
    body = {"to_user_id": to_user_id} | ({"message": message} if message is not None else {})
    return client.post("/api/v1/friends/requests", body, format="json")


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def pair(make_user, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    return alice, bob, client_for(alice), client_for(bob)


def test_send_request_answers_the_request(pair):
    alice, bob, a, _ = pair
    response = send(a, bob.id, "  hi, it's alice  ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["from_user"]["id"] == alice.id and body["to_user"]["id"] == bob.id
    assert body["message"] == "hi, it's alice" and body["status"] == "pending"
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24
    assert set(body) == {"id", "from_user", "to_user", "message", "status", "created_at"}


def test_duplicate_pending_request_and_already_friends_are_409(pair):
    alice, bob, a, b = pair
    request_id = send(a, bob.id).json()["id"]
    again = send(a, bob.id)
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert b.post(f"/api/v1/friends/requests/{request_id}/accept").status_code == 200
    for client, other in ((a, bob), (b, alice)):
        response = send(client, other.id)
        assert response.status_code == 409 and error_code(response) == "conflict"
    assert FriendRequest.objects.count() == 1


def test_a_pending_request_the_other_way_is_accepted_at_once(pair):
    alice, bob, a, b = pair
    first = send(a, bob.id).json()
    response = send(b, alice.id)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == first["id"] and body["status"] == "accepted"
    assert body["from_user"]["id"] == alice.id and body["to_user"]["id"] == bob.id
    assert FriendRequest.objects.count() == 1
    assert Friendship.objects.filter(user=alice, friend=bob).exists()
    assert Friendship.objects.filter(user=bob, friend=alice).exists()


def test_blocked_either_way_is_403(pair, make_user, client_for):
    alice, bob, a, b = pair
    assert a.post("/api/v1/blocks", {"user_id": bob.id}, format="json").status_code == 201
    for client, other in ((a, bob), (b, alice)):
        response = send(client, other.id)
        assert response.status_code == 403 and error_code(response) == "blocked"
    assert not FriendRequest.objects.exists()


@pytest.mark.parametrize("to_user_id, status", [(None, 400), ([1], 400), (1.5, 400), (True, 400), ({}, 400),
                                                ("abc", 400), (999999, 404), ("999999", 400), (2**70, 400)])
def test_bad_addressees(pair, to_user_id, status):
    _, _, a, _ = pair
    response = a.post("/api/v1/friends/requests", {"to_user_id": to_user_id}, format="json")
    assert response.status_code == status, response.content
    assert error_code(response) == ("invalid" if status == 400 else "not_found")
    assert not FriendRequest.objects.exists()


def test_missing_addressee_self_and_long_message_are_invalid(pair):
    alice, bob, a, _ = pair
    response = a.post("/api/v1/friends/requests", {}, format="json")
    assert response.status_code == 400 and "to_user_id" in response.json()["error"]["fields"]
    response = send(a, alice.id)
    assert response.status_code == 400 and "to_user_id" in response.json()["error"]["fields"]
    for message in ("x" * 501, 5, ["hi"]):
        response = send(a, bob.id, message)
        assert response.status_code == 400 and "message" in response.json()["error"]["fields"]
    assert not FriendRequest.objects.exists()


def test_a_disabled_user_cannot_be_asked(pair):
    alice, bob, a, _ = pair
    bob.is_active = False
    bob.save()
    assert send(a, bob.id).status_code == 404


def test_lists_of_pending_requests_newest_first(make_user, client_for):
    me, x, y, z = make_user("meme"), make_user("xavier"), make_user("yvonne"), make_user("zoe")
    client = client_for(me)
    rx = send(client_for(x), me.id).json()
    ry = send(client_for(y), me.id).json()
    out = send(client, z.id).json()
    incoming = client.get("/api/v1/friends/requests", {"direction": "incoming"}).json()
    assert [r["id"] for r in incoming["results"]] == [ry["id"], rx["id"]] and incoming["next"] is None
    assert client.get("/api/v1/friends/requests").json() == incoming  # incoming by default
    outgoing = client.get("/api/v1/friends/requests", {"direction": "outgoing"}).json()
    assert [r["id"] for r in outgoing["results"]] == [out["id"]]
    assert client.post(f"/api/v1/friends/requests/{ry['id']}/reject").status_code == 200
    assert client.post(f"/api/v1/friends/requests/{rx['id']}/accept").status_code == 200
    # answered requests drop out
    assert client.get("/api/v1/friends/requests", {"direction": "incoming"}).json()["results"] == []
    page = client.get("/api/v1/friends/requests", {"direction": "outgoing", "limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"] is None
    response = client.get("/api/v1/friends/requests", {"direction": "sideways"})
    assert response.status_code == 400 and "direction" in response.json()["error"]["fields"]


def test_only_the_addressee_answers(pair, make_user, client_for):
    alice, bob, a, b = pair
    stranger = client_for(make_user("carol"))
    request_id = send(a, bob.id).json()["id"]
    for client in (a, stranger):
        for answer in ("accept", "reject"):
            response = client.post(f"/api/v1/friends/requests/{request_id}/{answer}")
            assert response.status_code == 404 and error_code(response) == "not_found"
    assert b.post("/api/v1/friends/requests/999999/accept").status_code == 404
    assert FriendRequest.objects.get(id=request_id).status == "pending"


def test_accept_is_idempotent_and_reject_after_accept_is_409(pair):
    alice, bob, a, b = pair
    request_id = send(a, bob.id).json()["id"]
    first = b.post(f"/api/v1/friends/requests/{request_id}/accept")
    second = b.post(f"/api/v1/friends/requests/{request_id}/accept")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["status"] == "accepted"
    assert Friendship.objects.count() == 2
    response = b.post(f"/api/v1/friends/requests/{request_id}/reject")
    assert response.status_code == 409 and error_code(response) == "conflict"


def test_reject(pair):
    alice, bob, a, b = pair
    request_id = send(a, bob.id).json()["id"]
    response = b.post(f"/api/v1/friends/requests/{request_id}/reject")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert not Friendship.objects.exists()
    assert b.post(f"/api/v1/friends/requests/{request_id}/accept").status_code == 409
    assert send(a, bob.id).status_code == 201  # a new request may follow a rejected one


def test_friend_list_newest_first_and_delete_ends_both_sides(make_user, make_friends, client_for):
    me, x, y = make_user("meme"), make_user("xavier"), make_user("yvonne")
    make_friends(me, x)
    make_friends(y, me)
    client = client_for(me)
    body = client.get("/api/v1/friends").json()
    assert [f["user"]["username"] for f in body["results"]] == ["yvonne", "xavier"] and body["next"] is None
    assert all(f["since"].endswith("Z") for f in body["results"])
    assert client.delete(f"/api/v1/friends/{x.id}").status_code == 204
    assert [f["user"]["id"] for f in client.get("/api/v1/friends").json()["results"]] == [y.id]
    assert client_for(x).get("/api/v1/friends").json()["results"] == []
    again = client.delete(f"/api/v1/friends/{x.id}")
    assert again.status_code == 404 and error_code(again) == "not_found"
    assert client.delete("/api/v1/friends/999999").status_code == 404


def test_block_ends_friendship_and_pending_requests(make_user, make_friends, client_for):
    me, friend, asker, asked = make_user("meme"), make_user("friend"), make_user("asker"), make_user("asked")
    make_friends(me, friend)
    client = client_for(me)
    incoming = send(client_for(asker), me.id).json()
    outgoing = send(client, asked.id).json()
    for other in (friend, asker, asked):
        response = client.post("/api/v1/blocks", {"user_id": other.id}, format="json")
        assert response.status_code == 201 and response.json()["id"] == other.id
    assert not Friendship.objects.exists()
    assert FriendRequest.objects.get(id=incoming["id"]).status == "cancelled"
    assert FriendRequest.objects.get(id=outgoing["id"]).status == "cancelled"
    assert client.get("/api/v1/friends/requests", {"direction": "outgoing"}).json()["results"] == []
    blocks = client.get("/api/v1/blocks").json()
    assert [u["id"] for u in blocks["results"]] == [friend.id, asker.id, asked.id]
    assert set(blocks["results"][0]) == {"id", "username", "display_name", "avatar_url"}
    # blocking again is harmless
    assert client.post("/api/v1/blocks", {"user_id": friend.id}, format="json").status_code == 201
    assert Block.objects.filter(blocker=me).count() == 3


def test_unblock(pair):
    alice, bob, a, b = pair
    a.post("/api/v1/blocks", {"user_id": bob.id}, format="json")
    assert a.delete(f"/api/v1/blocks/{bob.id}").status_code == 204
    assert a.get("/api/v1/blocks").json()["results"] == []
    assert send(b, alice.id).status_code == 201
    again = a.delete(f"/api/v1/blocks/{bob.id}")
    assert again.status_code == 404 and error_code(again) == "not_found"
    # bob cannot lift alice's block of him
    a.post("/api/v1/blocks", {"user_id": bob.id}, format="json")
    assert b.delete(f"/api/v1/blocks/{alice.id}").status_code == 404
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()


@pytest.mark.parametrize("body, status", [({}, 400), ({"user_id": "abc"}, 400), ({"user_id": 999999}, 404),
                                          ({"user_id": [1]}, 400), ({"user_id": True}, 400)])
def test_bad_blocks(pair, body, status):
    _, _, a, _ = pair
    response = a.post("/api/v1/blocks", body, format="json")
    assert response.status_code == status, response.content
    assert not Block.objects.exists()


def test_blocking_oneself_is_invalid(pair):
    alice, _, a, _ = pair
    response = a.post("/api/v1/blocks", {"user_id": alice.id}, format="json")
    assert response.status_code == 400 and "user_id" in response.json()["error"]["fields"]
