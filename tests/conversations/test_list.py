"""GET /api/v1/conversations: order, paging, row contents, one query per page."""

from chat.actions.recall import check_recall
from conversations.actions.own_view import conversation_list, do_delete, do_update_flags
from conversations.models import Conversation
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def _ids(page: dict) -> list[str]:
    return [row["id"] for row in page["results"]]


def test_order_pinned_first_then_newest_and_hidden_deleted_left_out(make_user, direct, send, client_for):
    alice = make_user("alice")
    cids = [direct(alice, shard=i % 2) for i in range(6)]  # both shards
    assert {Conversation.objects.get(id=c).shard for c in cids} == {0, 1}
    for cid in cids:
        send(alice, cid, "hi")
    # newest activity first: the last one sent to comes first
    pinned, hidden, deleted = cids[1], cids[2], cids[3]
    do_update_flags(alice.id, pinned, {"pinned": True})
    do_update_flags(alice.id, hidden, {"hidden": True})
    do_delete(alice.id, deleted)
    response = client_for(alice).get("/api/v1/conversations")
    assert response.status_code == 200
    assert _ids(response.json()) == [pinned, cids[5], cids[4], cids[0]]
    assert response.json()["next"] is None


def test_keyset_pages_cover_everything_once(make_user, direct, send, client_for):
    alice = make_user("alice")
    cids = [direct(alice) for _ in range(7)]
    for cid in cids[:5]:
        send(alice, cid, "x")  # the last two have no message: ordered by creation time
    do_update_flags(alice.id, cids[0], {"pinned": True})
    do_update_flags(alice.id, cids[6], {"pinned": True})
    client = client_for(alice)
    seen, url = [], "/api/v1/conversations?limit=2"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += _ids(page)
        url = page["next"] and f"/api/v1/conversations?limit=2&cursor={page['next']}"
    assert seen == [cids[0], cids[6], cids[4], cids[3], cids[2], cids[1], cids[5]]


def test_bad_cursor_is_invalid(make_user, client_for):
    client = client_for(make_user("alice"))
    for cursor in ("!!!", "WzEsMl0", "eyJhIjoxfQ"):  # garbage, [1,2], {"a":1}
        response = client.get(f"/api/v1/conversations?cursor={cursor}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_one_query_per_page(make_user, direct, send, django_assert_num_queries):
    alice = make_user("alice")
    cids = [direct(alice) for _ in range(5)]
    for cid in cids:
        send(alice, cid, "hello")
    with django_assert_num_queries(1):
        first = conversation_list(alice.id, {"limit": "3"})
    with django_assert_num_queries(1):
        second = conversation_list(alice.id, {"limit": "3", "cursor": first["next"]})
    assert len(first["results"]) == 3 and len(second["results"]) == 2 and second["next"] is None


def test_row_contents_direct(make_user, direct, send, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    send(alice, cid, "one")
    send(bob, cid, "two")
    send(bob, cid, "three")
    client_for(alice).post(f"/api/v1/conversations/{cid}/read", {"seq": 2}, format="json")
    row = client_for(alice).get("/api/v1/conversations").json()["results"][0]
    assert row["id"] == cid and row["type"] == "direct"
    assert row["peer"] == {"id": bob.id, "username": "bob", "display_name": "bob", "avatar_url": None}
    assert (row["last_seq"], row["read_seq"], row["unread_count"]) == (3, 2, 1)
    assert row["last_message"]["content"] == {"text": "three"} and "status" not in row["last_message"]
    assert row["peer_read_seq"] == 3  # bob's own send moved his cursor
    assert {"pinned", "hidden", "muted", "updated_at"} <= row.keys()
    bobs = client_for(bob).get("/api/v1/conversations").json()["results"][0]
    assert bobs["peer"]["id"] == alice.id and bobs["unread_count"] == 0
    assert bobs["last_message"]["status"] == "sent" and bobs["peer_read_seq"] == 2


def test_recalled_last_message_shows_recalled(make_user, direct, send, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    cid = direct(alice, bob)
    message = send(alice, cid, "oops")
    check_recall(alice.id, cid, str(message.msg_id))
    last = client_for(bob).get("/api/v1/conversations").json()["results"][0]["last_message"]
    assert last["recalled"] is True and last["content"] == {} and last["msg_id"] == str(message.msg_id)
