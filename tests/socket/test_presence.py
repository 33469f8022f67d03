"""presence frames to friends and online_friends in hello (docs/api.md section 5)."""

from channels.db import database_sync_to_async as db

from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def test_first_connect_and_last_disconnect_tell_friends(make_user, make_friends, connect):
    alice, bob, carol = await db(make_user)(), await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    b = await connect(bob)
    c = await connect(carol)  # not a friend: hears nothing
    assert b.hello["online_friends"] == []
    phone = await connect(alice)
    assert phone.hello["online_friends"] == [bob.id]
    assert await b.recv_type("presence") == {"type": "presence", "user_id": alice.id, "online": True}
    laptop = await connect(alice)  # a second device: no new presence
    assert laptop.hello["online_friends"] == [bob.id]
    assert await b.nothing()
    await phone.close()  # one device left: still online
    assert await b.nothing()
    b2 = await connect(bob)
    assert b2.hello["online_friends"] == [alice.id]
    assert await laptop.nothing()  # bob's second device: bob was online already
    await laptop.close()  # the last device: offline
    assert await b.recv_type("presence") == {"type": "presence", "user_id": alice.id, "online": False}
    assert await b2.recv_type("presence") == {"type": "presence", "user_id": alice.id, "online": False}
    assert await c.nothing()
    b3 = await connect(bob)
    assert b3.hello["online_friends"] == []
