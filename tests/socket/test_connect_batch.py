"""Sockets connecting at the same moment are set up together (chat/actions/connect.py,
accounts/socket_auth.py): each gets its own user's answer, one presence per user coming online,
and the batch costs the same statements whatever its size."""

import asyncio

from channels.db import database_sync_to_async as db
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.socket_auth import authenticate_tokens
from chat.actions.connect import Connecting, do_connect_many
from chat.actions.delivery import OFFLINE_PAGE
from chat.actions.messages import do_reserve_ids
from chat.actions.outbox import do_notify
from chat.actions.send import SendRequest, SendResult, check_send_message, check_send_messages
from chat.models import Outbox
from conversations.actions.direct import check_open_direct
from imsite.realtime.presence import presence
from tests.conftest import ALL_DBS
from tests.socket.conftest import close_code

pytestmark = ALL_DBS


def test_each_socket_of_a_connect_batch_gets_its_own_setup(make_user, make_friends, capture):
    alice, bob, carol, dave = make_user(), make_user(), make_user(), make_user()
    make_friends(alice, bob)
    make_friends(alice, carol)
    presence().add_devices([(bob.id, "bob-phone", settings.IM_NODE_NAME)])  # bob is online, carol is not
    conversation = check_open_direct(carol, alice.id)[0].conversation
    sent = check_send_message(carol.id, conversation.id, "text", {"text": "while you were away"},
                              do_reserve_ids(carol.id, 1)[0]).message
    Outbox.objects.all().delete()  # the friend requests' frames: not under test
    do_notify({"type": "note", "text": "queued for dave"}, [dave.id])
    capture.clear()

    setups = do_connect_many([Connecting(alice.id, "alice-phone"), Connecting(alice.id, "alice-laptop"),
                              Connecting(dave.id, "dave-phone")])

    phone, laptop, dave_setup = setups
    assert phone.online_friends == laptop.online_friends == [bob.id]
    assert dave_setup.online_friends == []
    assert phone.baseline == laptop.baseline == {conversation.id: 1}
    assert dave_setup.baseline == {}
    # both of alice's devices are owed carol's message; the page is complete (no next page)
    for setup in (phone, laptop):
        assert [(m["msg_id"], m["seq"]) for m in setup.unacknowledged] == [(str(sent.msg_id), 1)]
        assert setup.after is None and setup.queued == []
    assert dave_setup.unacknowledged == [] and [f for _, f in dave_setup.queued] == [
        {"type": "note", "text": "queued for dave"}]
    # alice came online once, whatever her number of devices; dave has no friends to tell
    assert capture == [({"type": "presence", "user_id": alice.id, "online": True}, [bob.id, carol.id])]
    assert presence().user_devices(alice.id).keys() == {"alice-phone", "alice-laptop"}


def test_a_connect_batch_costs_the_same_statements_whatever_its_size(make_user, make_friends):
    users = [make_user() for _ in range(24)]
    for a, b in zip(users, users[1:], strict=False):
        make_friends(a, b)

    def statements(sockets: list[Connecting]) -> int:
        with CaptureQueriesContext(connections["default"]) as main:
            do_connect_many(sockets)
        return len(main)

    statements([Connecting(users[0].id, "warm-up")])
    assert statements([Connecting(u.id, f"c{u.id}") for u in users]) == statements(
        [Connecting(users[0].id, "one")])


def test_tokens_of_one_batch_get_their_own_answers(make_user, token_for):
    alice, bob = make_user(), make_user()
    bob.is_active = False
    bob.save()
    tokens = [token_for(alice), "not-a-token", token_for(bob), token_for(alice)]
    with CaptureQueriesContext(connections["default"]) as queries:
        answers = authenticate_tokens(tokens)
    assert len(queries) == 1
    assert [(a.user_id, a.close_code) for a in answers] == [(alice.id, None), (None, 4401), (None, 4403),
                                                           (alice.id, None)]
    assert answers[0].token_id != answers[3].token_id


async def test_sockets_connecting_at_once_are_each_set_up(make_user, make_friends, connect, token_for):
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    watcher = await connect(bob)
    sockets = await asyncio.gather(*(connect(alice) for _ in range(5)), connect(token="bad", expect_synced=False))
    *phones, refused = sockets
    assert all(p.hello["user_id"] == alice.id and p.hello["online_friends"] == [bob.id] for p in phones)
    assert await close_code(refused) == 4401
    assert (await watcher.recv_type("presence"))["user_id"] == alice.id
    assert await watcher.nothing()  # once, not once per device


async def test_the_offline_push_goes_on_past_its_first_page(make_user, make_friends, connect, settings):
    """More unacknowledged messages than a page: the first page comes from the connect batch, the
    rest page by page, all in seq order, once each, before `synced`."""
    settings.IM_SEND_RATE = 10_000  # one sender, OFFLINE_PAGE + 20 sends at once
    alice, carol = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, carol)
    conversation = (await db(check_open_direct)(carol, alice.id))[0].conversation
    count = OFFLINE_PAGE + 20
    results = await db(check_send_messages)(
        [SendRequest(carol.id, conversation.id, "text", {"text": f"m{i}"}) for i in range(count)])
    assert all(isinstance(r, SendResult) for r in results)
    phone = await connect(alice)
    pushed = [f["message"]["seq"] for f in phone.initial if f["type"] == "message"]
    assert pushed == list(range(1, count + 1))
