"""Reactions (docs/api.md section 9) over REST and the socket, on both shards."""

from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async as db

from chat.actions.reactions import MAX_EMOJI, check_react
from chat.actions.recall import check_recall
from chat.models import Outbox, Reaction
from conversations.models import Conversation
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS

EMOJI = [chr(0x1F600 + i) for i in range(MAX_EMOJI + 1)]


def url(cid, msg_id, emoji):
    return f"/api/v1/conversations/{cid}/messages/{msg_id}/reactions/{quote(emoji)}"


@pytest.mark.parametrize("shard", [0, 1])
def test_react_twice_is_one_reaction_stored_on_the_messages_shard(make_user, direct, send, client_for, shard):
    alice = make_user()
    cid = direct(alice, shard=shard)
    bob_id = next(uid for uid in map(int, cid[2:].split("_")) if uid != alice.id)
    message = send(alice, cid, "hello")
    client = client_for(alice)
    first = client.put(url(cid, message.msg_id, "👍🏽"))
    again = client.put(url(cid, message.msg_id, "👍🏽"))
    assert first.status_code == again.status_code == 200
    assert again.json()["reactions"] == {"👍🏽": [alice.id]}
    alias = shard_alias(Conversation.objects.get(id=cid).shard)
    assert Reaction.objects.using(alias).filter(msg_id=message.msg_id).count() == 1
    frame = {"type": "reaction", "conversation_id": cid, "msg_id": str(message.msg_id), "user_id": alice.id,
             "emoji": "👍🏽", "on": True}
    queued = Outbox.objects.filter(frame__type="reaction")  # nobody is connected: kept for their next connect
    assert sorted((row.user_id, row.frame == frame) for row in queued) == [(alice.id, True), (bob_id, True)]
    history = client.get(f"/api/v1/conversations/{cid}/messages").json()
    assert history["results"][0]["reactions"] == {"👍🏽": [alice.id]}
    assert client.delete(url(cid, message.msg_id, "👍🏽")).status_code == 204
    assert client.delete(url(cid, message.msg_id, "👍🏽")).status_code == 204  # nothing to remove: still 204
    assert client.get(f"/api/v1/conversations/{cid}/messages").json()["results"][0]["reactions"] == {}
    assert [row.frame["on"] for row in Outbox.objects.filter(user_id=bob_id).order_by("id")
            if row.frame["type"] == "reaction"] == [True, False]


def test_reactions_change_no_seq_or_unread_count(make_user, direct, send, client_for):
    alice, bob = make_user(), make_user()
    cid = direct(alice, bob)
    message = send(alice, cid, "hello")
    before = client_for(alice).get(f"/api/v1/conversations/{cid}").json()
    client_for(bob).put(url(cid, message.msg_id, "❤️"))
    after = client_for(alice).get(f"/api/v1/conversations/{cid}").json()
    assert after["last_seq"] == before["last_seq"] == 1 and after["unread_count"] == before["unread_count"] == 0
    assert after["last_message"]["msg_id"] == str(message.msg_id)


def test_the_21st_emoji_and_bad_emoji_are_refused(make_user, direct, send, client_for):
    alice, bob = make_user(), make_user()
    cid = direct(alice, bob)
    message = send(alice, cid, "hello")
    client = client_for(alice)
    for emoji in EMOJI[:MAX_EMOJI]:
        assert client.put(url(cid, message.msg_id, emoji)).status_code == 200
    refused = client.put(url(cid, message.msg_id, EMOJI[MAX_EMOJI]))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_content"
    assert client_for(bob).put(url(cid, message.msg_id, EMOJI[0])).status_code == 200  # an existing one: fine
    for bad in ("a", "👍👍", "👍" + "\u200d👍" * 6, " "):
        response = client.put(url(cid, message.msg_id, bad))
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_content", bad


def test_no_reaction_on_a_recalled_or_foreign_message(make_user, direct, send, client_for):
    alice, bob, eve = make_user(), make_user(), make_user()
    cid = direct(alice, bob)
    message = send(alice, cid, "hello")
    assert client_for(eve).put(url(cid, message.msg_id, "👍")).status_code == 404
    check_recall(alice.id, cid, str(message.msg_id))
    response = client_for(bob).put(url(cid, message.msg_id, "👍"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client_for(bob).put(url(cid, "12345", "👍")).status_code == 404


async def test_react_over_the_socket_reaches_every_members_devices(make_user, direct, send, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    cid = await db(direct)(alice, bob)
    message = await db(send)(alice, cid, "hello")
    a, a2, b = await connect(alice), await connect(alice), await connect(bob)
    frame = {"type": "react", "conversation_id": cid, "msg_id": str(message.msg_id), "emoji": "🎉", "on": True}
    await b.send(frame)
    expected = {"type": "reaction", "conversation_id": cid, "msg_id": str(message.msg_id), "user_id": bob.id,
                "emoji": "🎉", "on": True}
    for socket in (a, a2, b):
        assert await socket.recv_type("reaction") == expected
    await b.send({**frame, "emoji": "no"})
    assert (await b.recv_type("error"))["code"] == "invalid_content"
    await b.send({**frame, "on": "yes"})
    assert (await b.recv_type("error"))["code"] == "invalid_frame"
    await b.send({"type": "react", "conversation_id": cid, "msg_id": str(message.msg_id)})
    assert (await b.recv_type("error"))["code"] == "invalid_frame"


async def test_a_reaction_made_while_offline_comes_after_the_offline_push(make_user, direct, send, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    cid = await db(direct)(alice, bob)
    message = await db(send)(alice, cid, "hello")
    await db(check_react)(alice.id, cid, str(message.msg_id), "👀", True)
    b = await connect(bob)
    kinds = [(frame["type"], frame.get("emoji")) for frame in b.initial if frame["type"] in ("message", "reaction")]
    assert kinds == [("message", None), ("reaction", "👀")]
