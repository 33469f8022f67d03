"""The `friend_request` frame: live to connected users, queued for the others and delivered on
their next connect (docs/api.md section 2)."""

from channels.db import database_sync_to_async as db

from accounts.actions import friends
from chat.models import Outbox
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def _frames(seen: list, kind: str = "friend_request") -> list[tuple[dict, list[int]]]:
    return [(frame, recipients) for frame, recipients in seen if frame["type"] == kind]


async def test_live_to_the_addressee_then_to_both_when_answered(make_user, connect, capture):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    a, b = await connect(alice), await connect(bob)
    request, created = await db(friends.check_send_request)(alice, bob.id, "hello")
    assert created
    [(frame, recipients)] = _frames(capture)
    assert recipients == [bob.id]
    assert frame["request"]["id"] == request.id and frame["request"]["status"] == "pending"
    assert await b.recv_type("friend_request") == frame
    assert await a.nothing()
    capture.clear()
    await db(friends.do_accept)(request)
    [(frame, recipients)] = _frames(capture)
    assert recipients == [alice.id, bob.id] and frame["request"]["status"] == "accepted"
    assert await a.recv_type("friend_request") == frame
    assert await b.recv_type("friend_request") == frame
    assert not await db(Outbox.objects.exists)()


async def test_rejection_reaches_both(make_user, connect, capture):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    a, b = await connect(alice), await connect(bob)
    request, _ = await db(friends.check_send_request)(alice, bob.id)
    await b.recv_type("friend_request")
    await db(friends.do_reject)(request)
    assert (await a.recv_type("friend_request"))["request"]["status"] == "rejected"
    assert (await b.recv_type("friend_request"))["request"]["status"] == "rejected"
    assert [r for _, r in _frames(capture)] == [[bob.id], [alice.id, bob.id]]


async def test_queued_for_an_offline_user_and_delivered_on_connect(make_user, connect, capture):
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    request, _ = await db(friends.check_send_request)(alice, bob.id, "are you there?")
    assert _frames(capture) == []  # nobody online: nothing sent live
    assert await db(Outbox.objects.filter(user_id=bob.id).count)() == 1
    b = await connect(bob)
    [frame] = [f for f in b.initial if f["type"] == "friend_request"]
    assert frame["request"]["id"] == request.id and frame["request"]["message"] == "are you there?"
    assert not await db(Outbox.objects.exists)()  # taken once
    b2 = await connect(bob)
    assert b2.initial == []
    # bob accepts while alice is offline: she gets it on her next connect
    await db(friends.do_accept)(request)
    assert (await b.recv_type("friend_request"))["request"]["status"] == "accepted"
    a = await connect(alice)
    assert [f["request"]["status"] for f in a.initial if f["type"] == "friend_request"] == ["accepted"]
