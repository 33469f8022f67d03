"""Web Push (docs/api.md section 10) against a push service on 127.0.0.1 (pushservice.py): the
subscription REST, who is notified and who not, the payload, and the answers of the service."""

from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async as db
from rest_framework.test import APIClient

from chat.actions.push import MAX_RETRIES, do_push_message, do_retry_push, topic
from chat.actions.recall import check_recall
from chat.actions.receipts import do_mark_read
from chat.models import PushDelivery, PushSubscription
from conversations.actions.own_view import do_update_flags
from tests.conftest import ALL_DBS
from tests.features.pushservice import PushService, b64, unb64

pytestmark = ALL_DBS


@pytest.fixture
def service(settings) -> Iterator[PushService]:
    settings.IM_PUSH_HOSTS = ["127.0.0.1"]
    settings.IM_PUSH_ALLOW_HTTP = True
    running = PushService()
    yield running
    running.close()


def subscribe(client, service: PushService, name: str, *statuses: int) -> int:
    service.browser(name, *statuses)
    response = client.post("/api/v1/push/subscriptions", service.subscription_json(name), format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_key_and_subscriptions(make_user, client_for, service, settings):
    alice, bob = make_user(), make_user()
    client = client_for(alice)
    key = unb64(client.get("/api/v1/push/key").json()["vapid_public_key"])
    assert len(key) == 65 and key[0] == 4
    service.browser("one")
    body = service.subscription_json("one")
    first = client.post("/api/v1/push/subscriptions", body, format="json")
    again = client.post("/api/v1/push/subscriptions", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["endpoint"] == body["endpoint"]
    listed = client.get("/api/v1/push/subscriptions").json()
    assert listed == {"results": [first.json()], "next": None}
    assert client_for(bob).get("/api/v1/push/subscriptions").json()["results"] == []
    assert client_for(bob).delete(f"/api/v1/push/subscriptions/{first.json()['id']}").status_code == 404
    assert client.delete(f"/api/v1/push/subscriptions/{first.json()['id']}").status_code == 204
    assert not PushSubscription.objects.exists()
    keys = body["keys"]
    for bad in ({**body, "endpoint": "https://push.example.com/x"},  # not in IM_PUSH_HOSTS
                {**body, "endpoint": "ftp://127.0.0.1/x"}, {**body, "endpoint": "http://user@127.0.0.1/x"},
                {**body, "endpoint": 5}, {"endpoint": body["endpoint"]},
                {**body, "keys": {**keys, "p256dh": b64(b"\x04" * 10)}}, {**body, "keys": {**keys, "auth": "!"}}):
        response = client.post("/api/v1/push/subscriptions", bad, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", bad
    settings.IM_PUSH_ALLOW_HTTP = False
    assert client.post("/api/v1/push/subscriptions", body, format="json").status_code == 400
    settings.IM_PUSH_HOSTS = ["*.push.example.com"]
    https = {**body, "endpoint": "https://eu.push.example.com/abc"}
    assert client.post("/api/v1/push/subscriptions", https, format="json").status_code == 201
    assert APIClient().get("/api/v1/push/key").status_code == 401


async def test_who_is_notified(make_user, make_group, client_for, connect, service):
    owner, online, reader, muted, mentioned, offline = [await db(make_user)(name) for name in (
        "owner", "online", "reader", "muted", "mentioned", "offline")]
    group = await db(make_group)(owner, members=[online, reader, muted, mentioned, offline], name="Team")
    cid = group.conversation_id
    for user in (owner, online, reader, muted, mentioned, offline):
        await db(subscribe)(await db(client_for)(user), service, user.username)
    for user in (muted, mentioned):
        await db(do_update_flags)(user.id, cid, {"muted": True})
    await connect(online)
    sent = await db(lambda: client_for(owner).post(f"/api/v1/conversations/{cid}/messages", {
        "msg_type": "text", "content": {"text": "hello " * 30, "mentions": [mentioned.id]}}, format="json"))()
    assert sent.status_code == 201
    message = sent.json()
    await db(do_mark_read)(reader.id, cid, message["seq"])
    assert await db(do_push_message)(cid, message["msg_id"]) == 2
    assert sorted(r.subscription for r in service.received) == ["mentioned", "offline"]
    assert service.errors == [] and len(service.vapid_keys) == 1
    key = (await db(lambda: client_for(owner).get("/api/v1/push/key"))()).json()["vapid_public_key"]
    assert service.vapid_keys == {unb64(key)}
    received = service.for_("offline")[0]
    assert received.payload == {
        "type": "message", "conversation_id": cid, "msg_id": message["msg_id"], "seq": message["seq"],
        "sender": {"id": owner.id, "username": "owner", "display_name": "owner", "avatar_url": None},
        "title": "Team", "body": ("owner: " + "hello " * 30)[:100]}
    assert received.headers["Topic"] == topic(cid) and len(topic(cid)) <= 32
    # never twice for one message and subscription
    assert await db(do_push_message)(cid, message["msg_id"]) == 0 and len(service.received) == 2


def test_direct_payload_and_recalled_messages(make_user, direct, send, client_for, service):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    subscribe(client_for(bob), service, "bob")
    message = send(alice, cid, msg_type="location", content={"lat": 1.0, "lng": 2.0})
    assert do_push_message(cid, str(message.msg_id)) == 1
    payload = service.received[0].payload
    assert (payload["title"], payload["body"], payload["sender"]["id"]) == ("alice", "Location", alice.id)
    recalled = send(alice, cid, "oops")
    check_recall(alice.id, cid, str(recalled.msg_id))
    assert do_push_message(cid, str(recalled.msg_id)) == 0 and len(service.received) == 1


def test_answers_of_the_push_service(make_user, direct, send, client_for, service):
    alice, bob = make_user(), make_user()
    cid = direct(alice, bob)
    client = client_for(bob)
    subscribe(client, service, "gone", 410)
    subscribe(client, service, "missing", 404)
    busy = subscribe(client, service, "busy", *[429] * (MAX_RETRIES + 2))
    flaky = subscribe(client, service, "flaky", 503)
    message = send(alice, cid, "hi")
    assert do_push_message(cid, str(message.msg_id)) == 4
    assert [r.status for r in service.for_("gone") + service.for_("missing")] == [410, 404]
    assert set(PushSubscription.objects.values_list("id", flat=True)) == {busy, flaky}  # gone and missing deleted
    delivery = {d.subscription_id: d for d in PushDelivery.objects.all()}
    do_retry_push(delivery[flaky].id, cid)
    assert [r.status for r in service.for_("flaky")] == [503, 201]
    assert PushDelivery.objects.get(id=delivery[flaky].id).sent
    do_retry_push(delivery[flaky].id, cid)  # sent: never again
    assert len(service.for_("flaky")) == 2
    for _ in range(MAX_RETRIES + 2):
        do_retry_push(delivery[busy].id, cid)
    assert [r.status for r in service.for_("busy")] == [429] * (1 + MAX_RETRIES)  # the first try and 3 retries
    assert service.errors == []
