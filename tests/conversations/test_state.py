"""Per-user state over REST: pin, hide, mute, delete (a per-user clear point), the read cursor,
/sync; and the exact unread count under concurrent sends and reads (threads on PostgreSQL)."""

import threading

from django.db import connections

from chat.actions.receipts import do_mark_read
from chat.models import Message
from conversations.models import Conversation, Membership
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def test_patch_flags_and_their_errors(make_user, direct, client_for, capture):
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    cid = direct(alice, bob)
    client = client_for(alice)
    response = client.patch(f"/api/v1/conversations/{cid}", {"pinned": True, "muted": True}, format="json")
    assert response.status_code == 200
    assert (response.json()["pinned"], response.json()["muted"], response.json()["hidden"]) == (True, True, False)
    assert [(f["type"], f["conversation"]["pinned"], r) for f, r in capture] == [("conversation", True, [alice.id])]
    bad = client.patch(f"/api/v1/conversations/{cid}", {"pinned": "yes"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["pinned"]
    assert client_for(eve).patch(f"/api/v1/conversations/{cid}", {"pinned": True}, format="json").status_code == 404
    assert client.patch("/api/v1/conversations/d_0_0", {"pinned": True}, format="json").status_code == 404
    # bob's own view is untouched
    assert client_for(bob).get(f"/api/v1/conversations/{cid}").json()["pinned"] is False


def test_hidden_comes_back_on_a_new_message(make_user, direct, send, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    client = client_for(alice)
    client.patch(f"/api/v1/conversations/{cid}", {"hidden": True}, format="json")
    assert client.get("/api/v1/conversations").json()["results"] == []
    send(bob, cid, "back?")
    rows = client.get("/api/v1/conversations").json()["results"]
    assert [r["id"] for r in rows] == [cid] and rows[0]["hidden"] is False and rows[0]["unread_count"] == 1


def test_delete_clears_for_the_caller_only_and_a_new_message_brings_it_back(make_user, direct, send, client_for,
                                                                            capture):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    for text in ("old weather one", "old weather two"):
        send(bob, cid, text)
    client = client_for(alice)
    token = client.get("/api/v1/sync").json()["token"]
    assert client.delete(f"/api/v1/conversations/{cid}").status_code == 204
    frame = [f for f, r in capture if f["type"] == "conversation" and r == [alice.id]][-1]["conversation"]
    assert frame["deleted"] is True and frame["unread_count"] == 0 and frame["last_message"] is None
    assert client.get("/api/v1/conversations").json()["results"] == []
    synced = client.get(f"/api/v1/sync?since={token}").json()
    assert [(c["id"], c["deleted"]) for c in synced["conversations"]] == [(cid, True)]
    assert client.get(f"/api/v1/conversations/{cid}/messages").json()["results"] == []
    assert client.get("/api/v1/messages/search?q=weather").json()["results"] == []
    # bob keeps everything
    assert len(client_for(bob).get(f"/api/v1/conversations/{cid}/messages").json()["results"]) == 2
    send(bob, cid, "new weather")
    rows = client.get("/api/v1/conversations").json()["results"]
    assert [(r["id"], r["unread_count"], r["last_seq"], r["read_seq"]) for r in rows] == [(cid, 1, 3, 2)]
    history = client.get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    assert [m["content"]["text"] for m in history] == ["new weather"]
    assert [m["seq"] for m in client.get("/api/v1/messages/search?q=weather").json()["results"]] == [3]
    synced = client.get(f"/api/v1/sync?since={synced['token']}").json()
    assert [(c["id"], c["deleted"], c["unread_count"]) for c in synced["conversations"]] == [(cid, False, 1)]
    # after_seq below the clear point still gives only what came after it
    assert [m["seq"] for m in client.get(f"/api/v1/conversations/{cid}/messages?after_seq=0").json()["results"]] == [3]


def test_read_cursor_only_moves_forward(make_user, direct, send, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    for i in range(4):
        send(bob, cid, f"m{i}")
    client = client_for(alice)
    assert client.post(f"/api/v1/conversations/{cid}/read", {"seq": 3}, format="json").json()["unread_count"] == 1
    back = client.post(f"/api/v1/conversations/{cid}/read", {"seq": 1}, format="json").json()
    assert (back["read_seq"], back["unread_count"]) == (3, 1)
    beyond = client.post(f"/api/v1/conversations/{cid}/read", {"seq": 99}, format="json").json()
    assert (beyond["read_seq"], beyond["unread_count"]) == (4, 0)
    for bad in (-1, "2", None, True):
        response = client.post(f"/api/v1/conversations/{cid}/read", {"seq": bad}, format="json")
        assert response.status_code == 400


def test_sync_returns_all_then_only_changes(make_user, direct, send, client_for):
    alice = make_user("alice")
    first, second = direct(alice, shard=0), direct(alice, shard=1)
    client = client_for(alice)
    everything = client.get("/api/v1/sync").json()
    assert {c["id"] for c in everything["conversations"]} == {first, second} and everything["token"]
    assert client.get(f"/api/v1/sync?since={everything['token']}").json()["conversations"] == []
    peer = Membership.objects.get(conversation_id=second, user=alice).peer
    send(peer, second, "hello")
    changed = client.get(f"/api/v1/sync?since={everything['token']}").json()["conversations"]
    assert [(c["id"], c["last_seq"], c["unread_count"]) for c in changed] == [(second, 1, 1)]
    assert client.get("/api/v1/sync?since=nonsense").status_code == 400


def _send_many(user, cid, count, send, errors):
    try:
        for i in range(count):
            send(user, cid, f"{user.username} {i}")
    except Exception as exc:  # noqa: BLE001  (reported by the test)
        errors.append(exc)
    finally:
        connections.close_all()


def _read_along(user, cid, rounds, errors):
    try:
        for _ in range(rounds):
            top = Conversation.objects.get(id=cid).last_seq
            do_mark_read(user.id, cid, top)
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)
    finally:
        connections.close_all()


def test_unread_is_exact_under_concurrent_sends_and_reads(make_user, direct, send):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_send_many, args=(alice, cid, 25, send, errors)),
        threading.Thread(target=_send_many, args=(bob, cid, 25, send, errors)),
        threading.Thread(target=_send_many, args=(bob, cid, 25, send, errors)),
        threading.Thread(target=_read_along, args=(alice, cid, 15, errors)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conversation = Conversation.objects.get(id=cid)
    messages = Message.objects.using(shard_alias(conversation.shard)).filter(conversation_id=cid)
    assert conversation.last_seq == messages.count() == 75
    assert sorted(messages.values_list("seq", flat=True)) == list(range(1, 76))
    for user in (alice, bob):
        membership = Membership.objects.get(conversation_id=cid, user=user)
        # exact: the others' messages after the user's read cursor
        expected = messages.filter(seq__gt=membership.read_seq).exclude(sender_id=user.id).count()
        assert membership.unread_count(conversation.last_seq) == expected
        assert messages.filter(seq__gt=membership.read_seq, sender_id=user.id).count() == 0


def _delete_while(user, cid, errors):
    from conversations.actions.own_view import do_delete

    try:
        for _ in range(5):
            do_delete(user.id, cid)
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)
    finally:
        connections.close_all()


def test_delete_racing_new_messages_never_hides_a_message_after_the_clear_point(make_user, direct, send):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    errors: list[Exception] = []
    threads = [threading.Thread(target=_send_many, args=(bob, cid, 30, send, errors)),
               threading.Thread(target=_delete_while, args=(alice, cid, errors))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    membership = Membership.objects.select_related("conversation").get(conversation_id=cid, user=alice)
    last_seq = membership.conversation.last_seq
    assert last_seq == 30
    # either the row is deleted and nothing came after its clear point, or it is back in the list
    assert (membership.deleted and membership.clear_seq == last_seq) or not membership.deleted
    assert membership.unread_count(last_seq) == last_seq - membership.clear_seq
