"""Edits (docs/api.md section 9): the sender's own text, within IM_EDIT_WINDOW, not once
recalled. The new text replaces the old one everywhere members look (history, search, replies'
previews, the conversation's last message); the earlier versions are kept for moderators."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from chat.actions.compose import check_mentions, mention_rows, readable_message
from chat.actions.content import check_content
from chat.actions.outbox import do_notify
from chat.models import Mention, Message, MessageEdit
from chat.representations import message_dict, reply_summary
from conversations.actions.access import access_membership, member_ids
from conversations.models import Conversation
from imsite.errors import ImError, not_found
from imsite.shards import shard_alias
from imsite.timefmt import iso


def refresh_replies(alias: str, original: Message) -> None:
    """Rewrite the summary that replies show of `original` (after an edit or a recall)."""
    Message.objects.using(alias).filter(conversation_id=original.conversation_id, reply_to_id=original.msg_id).update(
        reply_to=reply_summary(original))


def check_edit(user_id: int, conversation_id: Any, raw_msg_id: Any, content: Any) -> Message:
    membership = access_membership(user_id, conversation_id)
    message = readable_message(membership, raw_msg_id)
    if message is None or message.recalled:
        raise not_found(gettext("No such message."))
    if message.sender_id != user_id:
        raise ImError("forbidden", gettext("You can only edit your own messages."))
    if message.type != Message.Type.TEXT:
        raise ImError("invalid_content", gettext("Only text messages can be edited."))
    if timezone.now() - message.created_at > timedelta(seconds=settings.IM_EDIT_WINDOW):
        raise ImError("edit_expired", gettext("The edit window has passed."))
    stored, search_text, _ = check_content(user_id, Message.Type.TEXT, content)
    mentions = check_mentions(membership, content.get("mentions"))
    if mentions:
        stored["mentions"] = mentions
    return do_edit(membership.conversation, message, stored, search_text)


def do_edit(conversation: Conversation, message: Message, content: dict[str, Any], search_text: str) -> Message:
    """Store the new content (the old one kept as a MessageEdit) and tell every member's devices,
    live and on their next connect."""
    alias = shard_alias(conversation.shard)
    now = timezone.now()
    with transaction.atomic(using=alias):
        current = Message.objects.using(alias).select_for_update().filter(msg_id=message.msg_id, recalled=False).first()
        if current is None:  # recalled meanwhile
            raise not_found(gettext("No such message."))
        MessageEdit.objects.using(alias).create(msg_id=current.msg_id, conversation_id=current.conversation_id,
                                                content=current.content, replaced_at=now)
        current.content, current.search_text, current.edited_at = content, search_text, now
        current.save(using=alias, update_fields=["content", "search_text", "edited_at"])
        refresh_replies(alias, current)
    with transaction.atomic():
        Mention.objects.filter(msg_id=current.msg_id).delete()
        Mention.objects.bulk_create(mention_rows(current), ignore_conflicts=True)
        Conversation.objects.filter(id=conversation.id, last_seq=current.seq).update(last_message=message_dict(current))
        do_notify({"type": "edited", "conversation_id": conversation.id, "msg_id": str(current.msg_id),
                   "content": content, "edited_at": iso(now)}, member_ids(conversation.id), queue_all=True)
    return current
