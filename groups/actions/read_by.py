"""Group read receipts (docs/api.md section 4): no per-message status, only each member's read
cursor. A message counts as read by a member whose cursor reached it (a conversation they deleted
counts as read up to the deletion: `clear_seq`), and always by its sender."""

from typing import Any

from django.utils.translation import gettext as _

from chat.models import Message
from conversations.models import Membership
from groups.actions.access import access_group
from imsite.errors import not_found
from imsite.inputs import read_int
from imsite.shards import shard_alias


def parse_seq(raw: Any) -> int:
    return read_int(raw, "seq", 1, strings=True, message=_("Must be a positive integer."))


def read_receipts(user_id: int, raw_group_id: Any, raw_seq: Any) -> dict[str, Any]:
    """Over the current members who were members when the message was sent (one who joined later
    never had it, so is neither read nor unread)."""
    group, me = access_group(user_id, raw_group_id)
    seq = parse_seq(raw_seq)
    if seq <= me.visible_floor():
        raise not_found(_("No such message."))
    sender_id = (Message.objects.using(shard_alias(group.conversation.shard))
                 .filter(conversation_id=group.conversation_id, seq=seq).values_list("sender_id", flat=True).first())
    if sender_id is None:
        raise not_found(_("No such message."))
    read, unread = [], []
    rows = (Membership.objects.filter(conversation_id=group.conversation_id, active=True, join_seq__lt=seq)
            .order_by("user_id").values_list("user_id", "read_seq", "clear_seq"))
    for uid, read_seq, clear_seq in rows:
        (read if uid == sender_id or max(read_seq, clear_seq) >= seq else unread).append(uid)
    return {"seq": seq, "read": read, "unread": unread}
