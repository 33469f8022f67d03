"""/sync tokens are exact (docs/sync.md): a token lists every conversation changed after it and
nothing else, whatever order concurrent transactions commit in, and whoever wrote the change;
the previous release's time tokens still work. tests/embedded runs the sequential ones on SQLite."""

import threading
import time

from django.db import connection, transaction

from chat.actions.receipts import do_mark_read
from conversations.actions import own_view
from conversations.models import Conversation, Membership
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def changed(client, token: str) -> tuple[list[str], str]:
    response = client.get("/api/v1/sync", {"since": token})
    assert response.status_code == 200, response.content
    body = response.json()
    return sorted(c["id"] for c in body["conversations"]), body["token"]


def test_a_slow_transaction_that_commits_after_a_token_is_listed_by_it(make_user, direct, client_for):
    """Two writers on their own connections (as two nodes): the first starts its change, the
    second changes and commits, a sync is taken, then the first commits. Its change is older than
    the token by every clock, and still listed by it."""
    alice = make_user("alice")
    slow_cid, fast_cid = direct(alice), direct(alice)
    client = client_for(alice)
    _, token = changed(client, "")
    written, release, errors = threading.Event(), threading.Event(), []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                own_view.do_update_flags(alice.id, slow_cid, {"pinned": True})
                written.set()
                assert release.wait(10)
        except Exception as exc:  # the test thread reports it below
            errors.append(exc)
        finally:
            connection.close()

    def fast_writer() -> None:
        try:
            own_view.do_update_flags(alice.id, fast_cid, {"muted": True})
        finally:
            connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert written.wait(10)
    fast = threading.Thread(target=fast_writer)
    fast.start()
    fast.join()
    ids, token_between = changed(client, token)
    assert ids == [fast_cid]  # the slow change is not committed yet
    release.set()
    slow.join()
    assert not errors
    ids, token_after = changed(client, token_between)
    assert ids == [slow_cid]
    body = client.get(f"/api/v1/conversations/{slow_cid}").json()
    assert body["pinned"] is True
    assert changed(client, token_after)[0] == []


def test_every_writer_of_a_users_state_is_seen(make_user, direct, send, client_for):
    """Changes that no code path stamps with a time: the peer's read cursor (it shows as
    peer_read_seq and the status of one's last message), a role change, and a message."""
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    client = client_for(alice)
    send(alice, cid, "hello")
    _, token = changed(client, "")
    assert changed(client, token)[0] == []
    do_mark_read(bob.id, cid, 1)
    ids, token = changed(client, token)
    assert ids == [cid]
    assert client.get(f"/api/v1/conversations/{cid}").json()["peer_read_seq"] == 1
    Membership.objects.filter(conversation_id=cid, user=alice).update(role="")  # a bare UPDATE, no updated_at
    ids, token = changed(client, token)
    assert ids == [cid]
    send(bob, cid, "back")
    ids, token = changed(client, token)
    assert ids == [cid]
    assert changed(client, token)[0] == []


def test_time_tokens_of_the_previous_release_still_work(make_user, direct, send, client_for):
    alice = make_user("alice")
    quiet, busy = direct(alice), direct(alice)
    client = client_for(alice)
    old_token = str(int((time.time() - 60) * 1_000_000))
    Membership.objects.filter(conversation_id=quiet).update(updated_at="2000-01-01T00:00:00Z")
    Conversation.objects.filter(id=quiet).update(updated_at="2000-01-01T00:00:00Z")
    peer = Membership.objects.get(conversation_id=busy, user=alice).peer
    send(peer, busy, "hi")
    ids, token = changed(client, old_token)
    assert ids == [busy] and token.startswith("m")


def test_tokens_that_this_server_did_not_issue_are_refused(make_user, client_for):
    client = client_for(make_user())
    for token in ("nonsense", "m5:3:", "m1:5:7", "m1:5:x", "１２３", "m" + "9" * 30 + ":1:"):
        response = client.get("/api/v1/sync", {"since": token})
        assert response.status_code == 400 and response.json()["error"]["fields"]["since"], token
