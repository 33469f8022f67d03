"""Search on the embedded default (SQLite, messages in the main database): the scan fallback keeps
the caller's visible ranges, a conversation seen whole next to one seen after a clear point."""

from conversations.models import Membership
from tests.conftest import ALL_DBS
from tests.conversations.conftest import direct, send  # noqa: F401  (shared fixtures)

pytestmark = ALL_DBS


def test_search_scans_only_what_the_caller_may_see(make_user, direct, send, client_for):  # noqa: F811
    alice, bob, carol, eve = make_user("alice"), make_user("bob"), make_user("carol"), make_user("eve")
    with_bob, with_carol, others = direct(alice, bob), direct(alice, carol), direct(bob, eve)
    send(bob, with_bob, "天气 before the clear")
    send(carol, with_carol, "天气 whole")
    send(eve, others, "天气 not alice's")
    Membership.objects.filter(conversation_id=with_bob, user=alice).update(clear_seq=1)
    send(bob, with_bob, "天气 after the clear")
    found = client_for(alice).get("/api/v1/messages/search", {"q": "天气"}).json()["results"]
    assert [m["content"]["text"] for m in found] == ["天气 after the clear", "天气 whole"]
