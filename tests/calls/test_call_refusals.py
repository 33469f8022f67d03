"""Call frames that are refused: bad shape, wrong conversation, wrong role, blocked or not friends."""

import pytest
from channels.db import database_sync_to_async as db

from accounts.actions.friends import check_block, do_unfriend
from chat.models import Call
from conversations.models import Conversation, Membership
from tests.calls.conftest import frame, new_call_id
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def group_conversation(user_ids: list[int]) -> str:
    """A group conversation with these members (the group's own row does not matter to calls)."""
    conversation = Conversation.objects.create(id="g_990001", kind=Conversation.Kind.GROUP, shard=0)
    Membership.objects.bulk_create([Membership(conversation=conversation, user_id=uid) for uid in user_ids])
    return conversation.id


async def refused(sock, sent: dict) -> str:
    await sock.send(sent)
    return (await sock.recv_type("error"))["code"]


async def test_bad_frames_are_invalid(pair, connect):
    a = await connect(pair.alice)
    call_id = new_call_id()
    base = frame(pair, "invite", call_id, media="audio")
    for broken in (
        {k: v for k, v in base.items() if k != "action"},
        {k: v for k, v in base.items() if k != "call_id"},
        {k: v for k, v in base.items() if k != "conversation_id"},
        dict(base, action="dial"),
        dict(base, action=None),
        dict(base, call_id="not-a-uuid"),
        dict(base, call_id=12345),
        {k: v for k, v in base.items() if k != "media"},
        dict(base, media="screen"),
    ):
        assert await refused(a, broken) == "invalid_frame", broken
    assert await db(Call.objects.count)() == 0
    await a.send(base)
    assert await refused(a, base) == "invalid_frame"  # the same call_id twice


async def test_unknown_call_and_wrong_roles(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    assert await refused(a, frame(pair, "hangup", new_call_id())) == "not_found"
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="video"))
    await b.recv_type("call")
    for action in ("accept", "reject", "ringing"):
        assert await refused(a, frame(pair, action, call_id)) == "forbidden"
    assert await refused(b, frame(pair, "cancel", call_id)) == "forbidden"
    await b.send(frame(pair, "accept", call_id))
    await a.recv_type("call")
    assert await refused(a, frame(pair, "cancel", call_id)) == "forbidden"
    assert await refused(b, frame(pair, "reject", call_id)) == "forbidden"


async def test_only_members_of_a_direct_conversation(pair, make_user, make_friends, connect):
    carol = await db(make_user)()
    await db(make_friends)(pair.alice, carol)
    c = await connect(carol)
    a = await connect(pair.alice)
    # Carol is not in Alice and Bob's conversation; she cannot ring or join a call there.
    assert await refused(c, frame(pair, "invite", new_call_id(), media="audio")) == "not_found"
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="audio"))
    assert await refused(c, frame(pair, "accept", call_id)) == "not_found"
    group_id = await db(group_conversation)([pair.alice.id, pair.bob.id, carol.id])
    in_group = dict(frame(pair, "invite", new_call_id(), media="audio"), conversation_id=group_id)
    assert await refused(a, in_group) == "not_found"
    assert await refused(a, dict(in_group, conversation_id="d_0_0")) == "not_found"


@pytest.mark.parametrize("falling_out, code", [("block", "blocked"), ("unfriend", "not_friends")])
async def test_blocked_or_not_friends_like_sending(pair, connect, falling_out, code):
    a, b = await connect(pair.alice), await connect(pair.bob)
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="audio"))
    await b.recv_type("call")
    if falling_out == "block":
        await db(check_block)(pair.bob, pair.alice.id)
    else:
        await db(do_unfriend)(pair.bob, pair.alice.id)
    assert await refused(a, frame(pair, "invite", new_call_id(), media="audio")) == code
    assert await refused(b, frame(pair, "accept", call_id)) == code
    assert await refused(a, frame(pair, "ice", call_id, payload={})) == code
    # Ending the call is still allowed.
    await a.send(frame(pair, "cancel", call_id))
    assert (await b.recv_type("call"))["action"] == "cancel"
