"""Recall (docs/api.md section 5): the sender within IM_RECALL_WINDOW; in groups an admin recalls
members' messages and the owner anyone's, at any time. The content is erased, the seq kept."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.actions.edits import refresh_replies
from chat.actions.outbox import do_notify
from chat.models import Mention, Message
from chat.representations import message_dict
from conversations.actions.access import access_membership, member_ids
from conversations.models import Conversation, Membership
from imsite.errors import ImError, not_found
from imsite.inputs import as_id
from imsite.shards import shard_alias

ROLE_RANK = {"owner": 3, "admin": 2, "member": 1, "": 0}


def access_message(membership: Membership, raw_msg_id: Any) -> Message:
    msg_id = as_id(raw_msg_id, strings=True)  # a decimal string, or the integer of an old client
    if msg_id is None:
        raise not_found(_("No such message."))
    message = (Message.objects.using(shard_alias(membership.conversation.shard))
               .filter(conversation_id=membership.conversation_id, msg_id=msg_id).first())
    if message is None or message.seq <= membership.visible_floor():
        raise not_found(_("No such message."))
    return message


def _may_recall(membership: Membership, message: Message, *, moderator: bool) -> None:
    if moderator:
        return
    if message.type == Message.Type.SYSTEM:
        raise ImError("forbidden", _("System messages cannot be recalled."))
    if membership.conversation.kind == Conversation.Kind.GROUP and membership.role == "owner":
        return  # the owner recalls anyone's message, their own included, at any time
    if membership.conversation.kind == Conversation.Kind.GROUP and message.sender_id != membership.user_id:
        sender = Membership.objects.filter(conversation_id=message.conversation_id, user_id=message.sender_id).first()
        sender_rank = ROLE_RANK[sender.role] if sender and sender.active else ROLE_RANK["member"]
        mine = ROLE_RANK[membership.role]
        if membership.role == "admin" and sender_rank < mine:
            return
        raise ImError("forbidden", _("You may not recall this message."))
    if message.sender_id != membership.user_id:
        raise ImError("forbidden", _("You can only recall your own messages."))
    if timezone.now() - message.created_at > timedelta(seconds=settings.IM_RECALL_WINDOW):
        raise ImError("recall_expired", _("The recall window has passed."))


def check_recall(user_id: int, conversation_id: Any, raw_msg_id: Any) -> Message:
    membership = access_membership(user_id, conversation_id)
    message = access_message(membership, raw_msg_id)
    _may_recall(membership, message, moderator=False)
    return do_recall(membership.conversation, message, by=user_id)


def do_recall(conversation: Conversation, message: Message, *, by: int) -> Message:
    """Erase and tell every member's devices: live, and queued for everyone's next connect (a
    device that is closing right now would miss the live frame; a repeat is harmless). Idempotent."""
    if message.recalled:
        return message
    alias = shard_alias(conversation.shard)
    with transaction.atomic(using=alias):
        Message.objects.using(alias).filter(msg_id=message.msg_id).update(
            recalled=True, recalled_by=by, content={}, search_text="")
        message.recalled, message.recalled_by, message.content, message.search_text = True, by, {}, ""
        refresh_replies(alias, message)
    with transaction.atomic():
        Conversation.objects.filter(id=conversation.id, last_seq=message.seq).update(
            last_message=message_dict(message), updated_at=timezone.now())
        Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now())
        Mention.objects.filter(msg_id=message.msg_id).delete()
        do_notify({"type": "recalled", "msg_id": str(message.msg_id), "conversation_id": conversation.id, "by": by},
                  member_ids(conversation.id), queue_all=True)
    return message
