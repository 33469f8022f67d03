"""Operator moderation (the Django admin): finding messages across the shards, and removing a
message's content. The admin records who did what, and why, in Django's LogEntry."""

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import User
from chat.actions.recall import do_recall
from chat.models import Attachment, Message
from conversations.models import Conversation
from imsite.shards import shard_alias, shard_aliases

SEARCH_LIMIT = 100


def search_all_shards(text: str = "", sender: str = "", conversation_id: str = "",
                      limit: int = SEARCH_LIMIT) -> list[Message]:
    """Newest first, at most `limit`: messages whose text contains `text` (case-insensitive),
    from the user named `sender`, in conversation `conversation_id`; any of them may be empty.
    One conversation is read from its own shard; otherwise every shard is asked and the newest
    `limit` of all are kept. Text search uses the trigram-indexed `search_text` (docs/search.md)."""
    filters: dict[str, Any] = {}
    if text.strip():
        filters["search_text__contains"] = text.strip().lower()
    if sender.strip():
        user = User.objects.filter(username__iexact=sender.strip()).only("id").first()
        if user is None:
            return []
        filters["sender_id"] = user.id
    aliases = shard_aliases()
    if conversation_id.strip():
        conversation = Conversation.objects.filter(id=conversation_id.strip()).only("shard").first()
        if conversation is None:
            return []
        filters["conversation_id"] = conversation.id
        aliases = [shard_alias(conversation.shard)]
    if not filters:
        return []
    rows = [row for alias in aliases
            for row in Message.objects.using(alias).filter(**filters).order_by("-created_at")[:limit]]
    return sorted(rows, key=lambda m: m.created_at, reverse=True)[:limit]


def message_in(conversation: Conversation, msg_id: int) -> Message | None:
    return (Message.objects.using(shard_alias(conversation.shard))
            .filter(conversation_id=conversation.id, msg_id=msg_id).first())


def do_erase(conversation: Conversation, message: Message, *, by: int) -> list[int]:
    """Recall the message (its content leaves every copy, members' devices are told) and delete
    the files of the attachment it carried, for content that must not stay on the server. The
    attachment row stays (history refers to it) with its files gone; the ids are returned."""
    attachment_id = (message.content or {}).get("attachment_id")
    do_recall(conversation, message, by=by)
    erased: list[int] = []
    if attachment_id is None:
        return erased
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().filter(id=attachment_id).first()
        if attachment is not None:
            for stored in (attachment.file, attachment.thumbnail):
                if stored and stored.name:
                    default_storage.delete(stored.name)
            attachment.file, attachment.thumbnail, attachment.size = "", "", 0
            attachment.save(update_fields=["file", "thumbnail", "size"])
            erased.append(attachment.id)
    return erased
