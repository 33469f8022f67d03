"""Reactions (docs/api.md section 9): rows beside their messages on the message's shard; one per
user per emoji, at most MAX_EMOJI different emoji per message, none on a recalled message. They
change no seq, no last message and no unread count."""

from typing import Any

import regex
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from chat.actions.compose import readable_message
from chat.actions.outbox import do_notify
from chat.models import Message, Reaction
from conversations.actions.access import access_membership, member_ids
from imsite.errors import ImError, not_found
from imsite.shards import shard_alias

MAX_EMOJI = 20
MAX_EMOJI_BYTES = 32
_CLUSTER = regex.compile(r"\X")
# An emoji: a pictograph, a flag's regional indicators or a keycap somewhere in the cluster.
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")


def check_emoji(raw: Any) -> str:
    if not (isinstance(raw, str) and 0 < len(raw.encode()) <= MAX_EMOJI_BYTES and _CLUSTER.fullmatch(raw)
            and _EMOJI.search(raw)):
        raise ImError("invalid_content", gettext("emoji must be one emoji of at most %(count)d bytes.") %
            {"count": MAX_EMOJI_BYTES})
    return raw


def reactions_of(messages: list[Message]) -> dict[int, dict[str, list[int]]]:
    """Each message's reactions, emoji -> user ids in the order they reacted: one query per shard
    the messages come from."""
    by_alias: dict[str, list[int]] = {}
    for message in messages:
        if not message.recalled:
            by_alias.setdefault(message._state.db or "default", []).append(message.msg_id)
    found: dict[int, dict[str, list[int]]] = {}
    for alias, ids in by_alias.items():
        for msg_id, emoji, user_id in (Reaction.objects.using(alias).filter(msg_id__in=ids).order_by("id")
                                       .values_list("msg_id", "emoji", "user_id")):
            found.setdefault(msg_id, {}).setdefault(emoji, []).append(user_id)
    return found


def check_react(user_id: int, conversation_id: Any, raw_msg_id: Any, raw_emoji: Any, on: bool) -> Message:
    """Add or take back the caller's reaction (idempotent); every member's devices hear of a
    change. Returns the message."""
    membership = access_membership(user_id, conversation_id)
    message = readable_message(membership, raw_msg_id)
    if message is None or message.recalled:
        raise not_found(gettext("No such message."))
    emoji = check_emoji(raw_emoji)
    alias = shard_alias(membership.conversation.shard)
    with transaction.atomic(using=alias):
        # The message row's lock serialises the reactions of one message (the emoji limit) and
        # orders them after a recall.
        locked = Message.objects.using(alias).select_for_update().filter(msg_id=message.msg_id, recalled=False)
        if not list(locked.values_list("msg_id", flat=True)):
            raise not_found(gettext("No such message."))
        mine = Reaction.objects.using(alias).filter(msg_id=message.msg_id, emoji=emoji, user_id=user_id)
        if on:
            if mine.exists():
                return message
            present = set(Reaction.objects.using(alias).filter(msg_id=message.msg_id).values_list("emoji", flat=True))
            if emoji not in present and len(present) >= MAX_EMOJI:
                raise ImError("invalid_content", gettext("A message holds at most %(count)d different emoji.") %
                    {"count": MAX_EMOJI})
            Reaction.objects.using(alias).create(msg_id=message.msg_id, conversation_id=message.conversation_id,
                                                 user_id=user_id, emoji=emoji, created_at=timezone.now())
        elif not mine.delete()[0]:
            return message
    # Queued for members with no connected device: the offline push carries the messages as stored
    # (without reactions), and these frames bring them up to date right after it.
    do_notify({"type": "reaction", "conversation_id": message.conversation_id, "msg_id": str(message.msg_id),
               "user_id": user_id, "emoji": emoji, "on": on}, member_ids(message.conversation_id))
    return message
