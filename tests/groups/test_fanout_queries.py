"""Fan-out on write costs a constant number of queries per send, whatever the group's size: the
members' rows are moved forward by one UPDATE (unread counts are derived from cursors)."""

from django.db import connections
from django.test.utils import CaptureQueriesContext

from chat.actions.send import check_send_message
from groups.actions import manage
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def queries_of_a_send(group, sender) -> tuple[int, int]:
    alias = shard_alias(group.conversation.shard)
    with CaptureQueriesContext(connections["default"]) as main, CaptureQueriesContext(connections[alias]) as shard:
        check_send_message(sender.id, group.conversation_id, "text", {"text": "hi"})
    return len(main), len(shard) if alias != "default" else 0


def test_send_queries_do_not_grow_with_members(make_user, django_assert_max_num_queries, capture):
    owner = make_user()
    small = manage.check_create_group(owner, "small", [make_user().id])
    big = manage.check_create_group(owner, "big", [make_user().id for _ in range(199)])
    queries_of_a_send(small, owner)  # warm-up: first-use lookups (content types, ...)
    main, shard = queries_of_a_send(small, owner)
    capture.clear()
    with django_assert_max_num_queries(main):
        check_send_message(owner.id, big.conversation_id, "text", {"text": "hi all"})
    assert queries_of_a_send(big, owner) == (main, shard)
    # ...and it was pushed to all 199 others (plus the sender's other devices)
    pushed = [set(r) for f, r in capture if f["type"] == "message" and f["message"]["content"] == {"text": "hi all"}]
    assert len(set().union(*pushed)) == 200
