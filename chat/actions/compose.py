"""What a send may carry besides its content (docs/api.md section 9): the original of a reply,
the source of a forward, a group text's mentions. `check_compose` is the validation step of one
send (chat/actions/send.py); `after_compose` records what a stored batch implies."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Expression, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext

from chat.actions.content import check_content
from chat.actions.push import schedule_push
from chat.models import Attachment, Mention, Message
from chat.representations import reply_summary
from conversations.actions.access import access_membership
from conversations.models import Conversation, Membership
from imsite.errors import ImError
from imsite.inputs import as_id
from imsite.shards import shard_alias

MAX_MENTIONS = 50


@dataclass(frozen=True)
class Composed:
    msg_type: str
    content: dict[str, Any]
    search_text: str
    attachment: Attachment | None
    reply_to_id: int | None = None
    reply_to: dict[str, Any] | None = None
    forwarded: bool = False


def _bad(message: str) -> ImError:
    return ImError("invalid_content", message)


def readable_message(membership: Membership, raw_msg_id: Any) -> Message | None:
    """A message of the membership's conversation that its user can read (after their join or
    clear point, before they left), or None."""
    msg_id = as_id(raw_msg_id, strings=True)
    if msg_id is None:
        return None
    message = (Message.objects.using(shard_alias(membership.conversation.shard))
               .filter(conversation_id=membership.conversation_id, msg_id=msg_id).first())
    if message is None or message.seq <= membership.visible_floor() or (
            membership.left_seq is not None and message.seq > membership.left_seq):
        return None
    return message


def check_mentions(membership: Membership, raw: Any) -> list[int]:
    """A group text's mentions: members only (others dropped), each once, at most 50; none in a
    direct conversation."""
    if raw is None or membership.conversation.kind != Conversation.Kind.GROUP:
        return []
    if not isinstance(raw, list) or any(isinstance(x, bool) or not isinstance(x, int) for x in raw):
        raise _bad(gettext("mentions must be a list of user ids."))
    wanted = list(dict.fromkeys(x for x in raw if as_id(x) is not None))  # a mention of no one is dropped
    members = set(Membership.objects.filter(conversation_id=membership.conversation_id, active=True,
                                            user_id__in=wanted).values_list("user_id", flat=True))
    return [uid for uid in wanted if uid in members][:MAX_MENTIONS]


def _forwarded(user_id: int, forward: Any) -> tuple[str, dict[str, Any], str, Attachment | None]:
    if not isinstance(forward, dict):
        raise _bad(gettext("forward must be an object with conversation_id and msg_id."))
    try:
        source_membership = access_membership(user_id, forward.get("conversation_id"))
    except ImError:
        raise _bad(gettext("forward must name a message you can read.")) from None
    source = readable_message(source_membership, forward.get("msg_id"))
    if source is None or source.type == Message.Type.SYSTEM or source.recalled:
        raise _bad(gettext("forward must name a message you can read that is not recalled or a system message."))
    content = {key: value for key, value in source.content.items() if key != "mentions"}  # the source's members
    attachment = None
    if "attachment_id" in content:
        attachment = Attachment.objects.filter(id=content["attachment_id"]).first()
        if attachment is None:
            raise _bad(gettext("The forwarded attachment no longer exists."))
    return source.type, content, source.search_text, attachment


def check_compose(user_id: int, membership: Membership, msg_type: Any, content: Any, reply_to: Any = None,
                  forward: Any = None) -> Composed:
    """The content to store and what comes with it, or `invalid_content`."""
    if forward is not None:
        msg_type, stored, search_text, attachment = _forwarded(user_id, forward)
    else:
        stored, search_text, attachment = check_content(user_id, msg_type, content)
        if msg_type == Message.Type.TEXT:
            mentions = check_mentions(membership, content.get("mentions"))
            if mentions:
                stored["mentions"] = mentions
    if reply_to is None:
        return Composed(msg_type, stored, search_text, attachment, forwarded=forward is not None)
    original = readable_message(membership, reply_to)
    if original is None:
        raise _bad(gettext("reply_to must be a message of this conversation that you can read."))
    return Composed(msg_type, stored, search_text, attachment, original.msg_id, reply_summary(original),
                    forwarded=forward is not None)


def unread_mentions() -> Expression:
    """`conversations.hooks.unread_mentions`: the member's mentions above its read cursor and
    clear point, counted in a subquery of a Membership row."""
    mentions = (Mention.objects.filter(user_id=OuterRef("user_id"), conversation_id=OuterRef("conversation_id"),
                                       seq__gt=Greatest(OuterRef("read_seq"), OuterRef("clear_seq")))
                .order_by().values("conversation_id").annotate(n=Count("id")).values("n"))
    return Coalesce(Subquery(mentions), 0)


def mention_rows(message: Message) -> list[Mention]:
    return [Mention(conversation_id=message.conversation_id, user_id=uid, seq=message.seq, msg_id=message.msg_id)
            for uid in message.content.get("mentions", []) if uid != message.sender_id]


def after_compose(messages: list[Message]) -> None:
    """For stored messages: their mentions (counted by `unread_mentions`) and their Web Push."""
    rows = [row for message in messages if message.type == Message.Type.TEXT for row in mention_rows(message)]
    if rows:
        Mention.objects.bulk_create(rows, ignore_conflicts=True)
    schedule_push(messages)
