"""One way to read ids and scalars (imsite/inputs.py): the cases that the old readers disagreed
on (`true` read as user 1, `1.5` as 1, "1", negative, huge numbers reaching the database), in the
reader itself and through the doors: REST bodies, paths and query strings, and socket frames."""

import pytest
from channels.db import database_sync_to_async as db

from accounts.models import Block, FriendRequest
from imsite.errors import ImError
from imsite.inputs import MAX_ID, as_id, as_int, as_number, read_id, read_int
from tests.conftest import ALL_DBS

HUGE = 2**70


@pytest.mark.parametrize(("raw", "json", "text"), [
    (1, 1, 1), (MAX_ID, MAX_ID, MAX_ID), ("1", None, 1), ("0012", None, 12),
    (True, None, None), (False, None, None), (1.5, None, None), (1.0, None, None), (0, None, None),
    (-1, None, None), ("-1", None, None), (HUGE, None, None), (str(HUGE), None, None), (MAX_ID + 1, None, None),
    ("", None, None), (" 1", None, None), ("1e3", None, None), ("١٢", None, None), ("１", None, None),
    (None, None, None), ([1], None, None), ({"id": 1}, None, None),
])
def test_ids(raw, json, text):
    assert as_id(raw) == json  # a JSON body, a frame, a task argument
    assert as_id(raw, strings=True) == text  # a path, a query string, a msg_id


def test_integers_in_a_range():
    assert as_int(0, 0, 10) == 0 and as_int(10, 0, 10) == 10 and as_int(11, 0, 10) is None
    assert as_int("-3", -5, 5, strings=True) == -3 and as_int("-3", -5, 5) is None
    assert as_int(True, 0, 10) is None and as_int(2.0, 0, 10) is None and as_int("--1", -5, 5, strings=True) is None
    assert as_number(1, -90, 90) == 1.0 and as_number(45.5, -90, 90) == 45.5
    assert as_number(True, -90, 90) is None and as_number(float("nan"), -90, 90) is None
    assert as_number(float("inf"), -1e400, 1e400) is None and as_number(91, -90, 90) is None


def test_refusals_name_their_field_and_code():
    with pytest.raises(ImError) as error:
        read_id(True, "user_id")
    assert (error.value.code, list(error.value.fields)) == ("invalid", ["user_id"])
    with pytest.raises(ImError) as error:
        read_int(1.5, "count", 1, 1000, code="invalid_frame")
    assert (error.value.code, list(error.value.fields)) == ("invalid_frame", ["count"])
    assert read_id(7, "user_id") == 7 and read_int("3", "seq", 0, strings=True) == 3


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("raw", [True, 1.5, "1", -1, HUGE, str(HUGE)])
def test_rest_bodies_refuse_what_is_not_an_id(make_user, make_friends, client_for, raw):
    first = make_user("first")  # user 1 in a fresh database: `true` used to name them
    alice = make_user("alice")
    client = client_for(alice)
    for path, field in (("/api/v1/friends/requests", "to_user_id"), ("/api/v1/blocks", "user_id"),
                        ("/api/v1/conversations/direct", "user_id")):
        response = client.post(path, {field: raw}, format="json")
        assert response.status_code == 400, (path, raw, response.content)
        assert list(response.json()["error"]["fields"]) == [field]
    assert not FriendRequest.objects.exists() and not Block.objects.exists()
    assert first.is_active


@pytest.mark.django_db(databases="__all__")
def test_paths_and_query_strings(make_user, make_friends, client_for):
    from conversations.actions.direct import check_open_direct

    alice, bob = make_user("alice"), make_user("bob")
    make_friends(alice, bob)
    cid = check_open_direct(alice, bob.id)[0].conversation_id
    client = client_for(alice)
    for path in (f"/api/v1/friends/{HUGE}", f"/api/v1/blocks/{HUGE}", f"/api/v1/groups/{HUGE}", "/api/v1/groups/-1",
                 f"/api/v1/attachments/{HUGE}/file", f"/api/v1/friends/requests/{HUGE}/accept"):
        method = client.delete if path.startswith(("/api/v1/friends/", "/api/v1/blocks/")) else client.get
        if path.endswith("/accept"):
            method = client.post
        response = method(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (path, response.content)
    for query in ("after_seq=1.5", "after_seq=-1", "before_seq=true", f"after_seq={HUGE}", "limit=0", "limit=1.5"):
        response = client.get(f"/api/v1/conversations/{cid}/messages?{query}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", query
    assert client.get(f"/api/v1/conversations/{cid}/messages?after_seq=0&limit=500").status_code == 200
    for seq in (True, 1.5, "1", -1, HUGE):
        response = client.post(f"/api/v1/conversations/{cid}/read", {"seq": seq}, format="json")
        assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["seq"], seq


@ALL_DBS
async def test_socket_frames(make_user, make_friends, connect):
    from conversations.actions.direct import check_open_direct

    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(alice, bob.id))[0].conversation_id
    socket = await connect(alice)
    await socket.send({"type": "msg_ids", "count": 1})
    msg_id = (await socket.recv_type("msg_ids"))["ids"][0]
    for attachment_id in (True, 1.5, HUGE, "1"):
        await socket.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "image",
                           "content": {"attachment_id": attachment_id}})
        error = await socket.recv_type("error")
        assert error["code"] == "invalid_content", attachment_id
    for lat in (True, "1", 91):
        await socket.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "location",
                           "content": {"lat": lat, "lng": 0}})
        assert (await socket.recv_type("error"))["code"] == "invalid_content"
    for raw in (True, 1.5, HUGE, -1):
        await socket.send({"type": "recall", "conversation_id": cid, "msg_id": raw})
        assert (await socket.recv_type("error"))["code"] == "not_found", raw
    for count in (True, 1.5, "1", 0, 1001):
        await socket.send({"type": "msg_ids", "count": count})
        assert (await socket.recv_type("error"))["code"] == "invalid_frame", count
    for raw in (True, 1.5, -1, HUGE, str(HUGE), " 1", "١٢"):
        await socket.send({"type": "send", "msg_id": raw, "conversation_id": cid, "msg_type": "text",
                           "content": {"text": "hi"}})
        assert (await socket.recv_type("error"))["code"] == "invalid_msg_id", raw
    for raw in (True, 1.5, -1, HUGE):
        await socket.send({"type": "delivered", "conversation_id": cid, "msg_ids": [raw]})
        assert (await socket.recv_type("error"))["code"] == "invalid_frame", raw
        await socket.send({"type": "read", "conversation_id": cid, "seq": raw})
        assert (await socket.recv_type("error"))["code"] == "invalid_frame", raw
