"""Recall in groups (docs/api.md sections 4 and 5), through the same action the socket's `recall`
frame calls: the sender within the window; at any time an admin for members' messages and the
owner for anyone's; everyone else `forbidden`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.actions.recall import check_recall
from chat.actions.send import check_send_message
from chat.models import Message, Outbox
from imsite.errors import ImError
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def said(people, who, *, old=False) -> Message:
    group = people["group"]
    message = check_send_message(people[who].id, group.conversation_id, "text", {"text": f"by {who}"}).message
    if old:  # past the recall window
        alias = shard_alias(group.conversation.shard)
        Message.objects.using(alias).filter(msg_id=message.msg_id).update(created_at=timezone.now() - timedelta(days=1))
    return message


def recall(people, who, message):
    return check_recall(people[who].id, people["group"].conversation_id, str(message.msg_id))


def stored(people, message) -> Message:
    return Message.objects.using(shard_alias(people["group"].conversation.shard)).get(msg_id=message.msg_id)


@pytest.mark.parametrize(("recaller", "author", "old"), [
    ("member", "member", False),   # own, within the window
    ("admin", "member", True),     # an admin: members' messages, any time
    ("owner", "admin", True),      # the owner: anyone's, any time
    ("owner", "member", True),
    ("owner", "owner", True),      # "anyone's" includes the owner's own, past the window
])
def test_allowed(cast, recaller, author, old):
    people = cast()
    message = said(people, author, old=old)
    recall(people, recaller, message)
    row = stored(people, message)
    assert row.recalled and row.content == {} and row.recalled_by == people[recaller].id
    # nobody is connected here: every member's `recalled` frame is queued for their next connect
    frame = {"type": "recalled", "msg_id": str(message.msg_id), "conversation_id": message.conversation_id,
             "by": people[recaller].id}
    queued = Outbox.objects.filter(frame__type="recalled")
    assert [row.frame for row in queued] == [frame] * 5
    assert {row.user_id for row in queued} == {people[k].id for k in ("owner", "admin", "admin2", "member", "member2")}


@pytest.mark.parametrize(("recaller", "author", "old", "code"), [
    ("member", "member", True, "recall_expired"),
    ("member", "member2", False, "forbidden"),     # a member: nobody else's
    ("member", "admin", False, "forbidden"),
    ("admin", "admin2", False, "forbidden"),       # an admin: not another admin's
    ("admin", "owner", False, "forbidden"),
    ("outsider", "member", False, "not_found"),
])
def test_refused(cast, capture, recaller, author, old, code):
    people = cast()
    message = said(people, author, old=old)
    capture.clear()
    with pytest.raises(ImError) as refused:
        recall(people, recaller, message)
    assert refused.value.code == code
    row = stored(people, message)
    assert not row.recalled and row.content == {"text": f"by {author}"}
    assert capture == [] and not Outbox.objects.exists()


def test_system_messages_cannot_be_recalled(cast):
    people = cast()
    group = people["group"]
    first = Message.objects.using(shard_alias(group.conversation.shard)).get(conversation_id=group.conversation_id,
                                                                              seq=1)
    with pytest.raises(ImError) as refused:
        check_recall(people["owner"].id, group.conversation_id, str(first.msg_id))
    assert refused.value.code == "forbidden"
