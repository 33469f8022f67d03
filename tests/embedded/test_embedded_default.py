"""The embedded default: SQLite, the in-memory channel layer, in-process background work and
retry sweep. Run by bin/test with no DATABASE_URL, IM_MESSAGE_SHARDS or REDIS_URL."""

from channels.db import database_sync_to_async as db
from django.conf import settings
from django.db import connection

from chat.actions.delivery import sweep_pending_acks
from conversations.actions.direct import check_open_direct
from imsite.realtime.pending import MemoryPending, pending
from imsite.realtime.presence import MemoryPresence, presence
from imsite.realtime.registry import MemoryRegistry, registry
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def test_settings_are_the_embedded_default():
    assert connection.vendor == "sqlite"
    assert settings.MESSAGE_SHARDS == [] and not settings.REDIS_URL
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert isinstance(registry(), MemoryRegistry) and isinstance(presence(), MemoryPresence)
    assert isinstance(pending(), MemoryPending)


def test_register_login_and_me(client):
    response = client.post("/api/v1/auth/register", {"username": "emma", "password": "a long pass phrase"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    token = client.post("/api/v1/auth/token", {"username": "emma", "password": "a long pass phrase"},
                        content_type="application/json").json()
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert me.json()["username"] == "emma"
    assert token["ws_url"].startswith("ws://")


async def test_chat_and_in_process_retry(make_user, make_friends, connect, token_for, settings):
    settings.IM_ACK_RETRY_DELAYS = [0.0, 0.0]
    alice, bob = await db(make_user)("alice"), await db(make_user)("bob")
    await db(make_friends)(alice, bob)
    cid = (await db(check_open_direct)(alice, bob.id))[0].conversation_id
    # Both tokens before any socket: the test database is SQLite's shared in-memory cache, where a
    # write that meets the first socket's in-process sweep fails at once instead of waiting.
    tokens = [await db(token_for)(user) for user in (alice, bob)]
    a, b = await connect(token=tokens[0]), await connect(token=tokens[1])
    await a.send({"type": "msg_ids", "count": 1})
    msg_id = (await a.recv_type("msg_ids"))["ids"][0]
    await a.send({"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
                  "content": {"text": "你好"}})
    assert (await a.recv_type("ack"))["seq"] == 1
    first = await b.recv_type("message")
    # No `delivered` from bob: the retry sweep (Celery beat's task, run here by the in-process
    # loop, or by this call, whichever comes first) pushes it again.
    await db(sweep_pending_acks)()
    again = await b.recv_type("message")
    assert again == first
    await b.send({"type": "delivered", "conversation_id": cid, "msg_ids": [msg_id]})
    assert (await a.recv_type("receipt"))["status"] == "delivered"
    assert pending().count() == 0
