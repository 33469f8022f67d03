"""Web Push (docs/api.md section 10) over real processes: a daphne node stores the message, a
Celery worker notifies IM_PUSH_DELAY seconds later, through a push service on 127.0.0.1 that checks
the VAPID JWT and decrypts the payload; a member with a connected device is not notified."""

import asyncio
import time

import pytest

from tests.conftest import ALL_DBS
from tests.e2e.client import Client, arest
from tests.features.pushservice import PushService, unb64

pytestmark = [ALL_DBS, pytest.mark.e2e]
DELAY = 2  # below the default: the setting is honoured as given


async def test_the_worker_notifies_an_offline_member_once_and_not_an_online_one(cluster_factory, pair):
    service = PushService()
    try:
        cluster = cluster_factory(IM_PUSH_HOSTS="127.0.0.1", IM_PUSH_ALLOW_HTTP="true", IM_PUSH_DELAY=str(DELAY))
        node = cluster.daphne("a")
        cluster.worker()
        await asyncio.to_thread(cluster.wait_ready)
        p = await pair()
        service.browser("bob")
        status, _ = await arest("POST", f"{node.url}/api/v1/push/subscriptions", p.bob_token,
                                service.subscription_json("bob"))
        assert status == 201
        messages = f"{node.url}/api/v1/conversations/{p.cid}/messages"
        started = time.monotonic()
        status, first = await arest("POST", messages, p.alice_token, {"msg_type": "text", "content": {"text": "hi"}})
        assert status == 201
        received = await asyncio.to_thread(service.wait_for, 1, DELAY + 20)
        assert time.monotonic() - started >= DELAY, "never before IM_PUSH_DELAY"
        assert [(r.subscription, r.payload["msg_id"]) for r in received] == [("bob", first["msg_id"])]
        _, key = await arest("GET", f"{node.url}/api/v1/push/key", p.bob_token)
        assert service.vapid_keys == {unb64(key["vapid_public_key"])} and service.errors == []

        bob = await Client.open(node.ws, p.bob_token)  # online now: the next message is not pushed
        status, _ = await arest("POST", messages, p.alice_token, {"msg_type": "text", "content": {"text": "again"}})
        assert status == 201
        assert (await bob.recv_type("message"))["message"]["content"] == {"text": "again"}
        # Waited for as long as a push would take, plus margin: nothing more arrives.
        assert len(await asyncio.to_thread(service.wait_for, 2, DELAY + 5)) == 1
        await bob.close()
    finally:
        service.close()
