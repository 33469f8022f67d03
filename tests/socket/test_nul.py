"""NUL characters (valid JSON, refused by PostgreSQL) are refused up front, never a 500."""

from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from tests.conftest import ALL_DBS
from tests.socket.conftest import still_open

pytestmark = ALL_DBS


def test_rest_bodies_with_nul_are_invalid(client, make_user, make_friends, client_for):
    response = client.post("/api/v1/auth/register", {"username": "nulname", "password": "a long pass phrase",
                                                     "display_name": "a\x00b"}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    alice, bob = make_user(), make_user()
    make_friends(alice, bob)
    cid = check_open_direct(alice, bob.id)[0].conversation_id
    api = client_for(alice)
    sent = api.post(f"/api/v1/conversations/{cid}/messages", {"msg_type": "text", "content": {"text": "x\x00"}},
                    format="json")
    assert sent.status_code == 400 and sent.json()["error"]["code"] == "invalid"
    assert api.get(f"/api/v1/conversations/{cid}/messages").json()["results"] == []


async def test_socket_frames_with_nul_are_invalid_frame(make_user, make_friends, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(alice, bob.id))[0].conversation_id
    socket = await connect(alice)
    await socket.send({"type": "msg_ids", "count": 1})
    msg_id = (await socket.recv_type("msg_ids"))["ids"][0]
    await socket.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                       "content": {"text": "bad\x00text"}})
    error = await socket.recv_type("error")
    assert error["code"] == "invalid_frame"
    assert await still_open(socket)
