"""Sending a message: one path for the socket, REST, groups' system messages and calls.

Order of work (docs/architecture.md): validate; store on the conversation's shard in one local
transaction that takes the next seq and inserts (the `msg_id` primary key makes a retried send
find the stored row instead of storing twice); then move the main database's mirrors forward
(conversation's last seq and message, members' hidden/deleted flags, the sender's read cursor);
then push `message` to every device of every member. Each step after the store is idempotent, and
a retried send runs them again, pushes included (a socket that has the seq already drops the
repeat), so a crash between the store and the push heals when the client retries.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from chat.actions.content import check_content
from chat.models import AttachmentUse, Message
from chat.representations import message_dict
from conversations.actions.access import access_membership, member_ids
from conversations.actions.direct import check_direct_allowed, direct_checks, direct_members
from conversations.models import Conversation, Membership
from imsite import metrics, snowflake
from imsite.errors import ImError
from imsite.events import send_event
from imsite.realtime.state import get_state
from imsite.shards import shard_alias


@dataclass
class SendResult:
    message: Message
    created: bool

    def ack(self) -> dict[str, Any]:
        m = self.message
        return {"type": "ack", "msg_id": str(m.msg_id), "conversation_id": m.conversation_id, "seq": m.seq,
                "created_at": message_dict(m)["created_at"]}


def parse_msg_id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ImError("invalid_msg_id", "msg_id must be a decimal string.")
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 19 or not 0 < int(text) < 2**63:
        raise ImError("invalid_msg_id", "msg_id must be a decimal string.")
    return int(text)


def _next_seq(alias: str, conversation_id: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_conversationcounter (conversation_id, last_seq) VALUES (%s, 1) "
            "ON CONFLICT (conversation_id) DO UPDATE SET last_seq = chat_conversationcounter.last_seq + 1 "
            "RETURNING last_seq",
            [conversation_id],
        )
        return int(cursor.fetchone()[0])


def store_message(conversation: Conversation, sender_id: int, msg_type: str, content: dict[str, Any],
                  search_text: str, msg_id: int | None = None) -> SendResult:
    """Take the next seq and insert, in one transaction on the conversation's shard."""
    alias = shard_alias(conversation.shard)
    msg_id = msg_id or snowflake.next_ids(1)[0]
    try:
        with transaction.atomic(using=alias):
            seq = _next_seq(alias, conversation.id)
            message = Message.objects.using(alias).create(
                msg_id=msg_id, conversation_id=conversation.id, seq=seq, sender_id=sender_id, type=msg_type,
                content=content, search_text=search_text, created_at=timezone.now())
    except IntegrityError:
        # The same msg_id was stored concurrently (another node, a retried frame): answer with it.
        existing = Message.objects.using(alias).filter(msg_id=msg_id).first()
        if existing is None or existing.sender_id != sender_id or existing.conversation_id != conversation.id:
            raise ImError("invalid_msg_id", "This msg_id is already used.") from None
        return SendResult(existing, created=False)
    metrics.MESSAGES_STORED.labels(kind=conversation.kind).inc()
    return SendResult(message, created=True)


def after_store(conversation: Conversation, message: Message, *, exclude_channel: str | None = None) -> None:
    """Move the main database's mirrors forward and push the message (idempotent)."""
    now = timezone.now()
    snapshot = message_dict(message)
    sender, seq = message.sender_id, message.seq
    with transaction.atomic():
        Conversation.objects.filter(id=conversation.id, last_seq__lt=seq).update(
            last_seq=seq, last_message=snapshot, last_message_at=message.created_at, updated_at=now)
        # One statement for the members' rows: a hidden or deleted conversation comes back into
        # their lists, and the sender's read cursor moves to their message (sending reads
        # everything before it, so past a read cursor are only others' messages).
        mine = Q(user_id=sender, read_seq__lt=seq)
        Membership.objects.filter(conversation_id=conversation.id, active=True).filter(
            Q(hidden=True) | Q(deleted=True) | mine).update(
            hidden=False, deleted=False, updated_at=now,
            read_seq=Case(When(mine, then=Value(seq)), default=F("read_seq"), output_field=BigIntegerField()))
        if conversation.kind == Conversation.Kind.DIRECT:
            recipients = direct_members(conversation.id)
        else:
            recipients = member_ids(conversation.id)
        others = [uid for uid in recipients if uid != sender]
        send_event({"type": "message", "message": snapshot}, others)
        if sender in recipients:
            own = dict(snapshot, status="sent") if conversation.kind == "direct" else snapshot
            send_event({"type": "message", "message": own}, [sender], exclude_channel=exclude_channel)


def _existing(conversation: Conversation, msg_id: int) -> Message | None:
    return Message.objects.using(shard_alias(conversation.shard)).filter(msg_id=msg_id).first()


def check_send_message(user_id: int, conversation_id: Any, msg_type: Any, content: Any, raw_msg_id: Any = None,
                       *, exclude_channel: str | None = None) -> SendResult:
    """Validate, store, push. The same `msg_id` again stores nothing and returns the stored message."""
    membership = access_membership(user_id, conversation_id, related=("conversation__group",), **direct_checks())
    conversation = membership.conversation
    state = get_state()
    msg_id = None
    if raw_msg_id is not None:
        msg_id = parse_msg_id(raw_msg_id)
        # A reserved id is new (it is released once stored). Otherwise it is a resend of a
        # stored message, answered with the same ack (and pushed again), or not this user's id.
        if not state.is_reserved(user_id, msg_id):
            existing = _existing(conversation, msg_id)
            if existing is None or existing.sender_id != user_id or existing.conversation_id != conversation.id:
                raise ImError("invalid_msg_id", "msg_id must be one reserved by you in the last 24 hours.")
            after_store(conversation, existing, exclude_channel=exclude_channel)
            return SendResult(existing, created=False)
    if conversation.kind == Conversation.Kind.GROUP:
        if conversation.group.dissolved:
            raise ImError("group_dissolved", "This group was dissolved.")
    else:
        check_direct_allowed(user_id, membership.peer_id, blocked=membership.blocked_between,
                             befriended=membership.befriended)
    stored, search_text, attachment = check_content(user_id, msg_type, content)
    if not state.take_token(f"send:{user_id}", settings.IM_SEND_RATE, 2 * settings.IM_SEND_RATE):
        raise ImError("rate_limited", "You are sending too fast.")
    result = store_message(conversation, user_id, msg_type, stored, search_text, msg_id)
    if attachment is not None:
        AttachmentUse.objects.get_or_create(attachment=attachment, conversation=conversation)
    after_store(conversation, result.message, exclude_channel=exclude_channel)
    if msg_id is not None:
        state.release_id(user_id, msg_id)
    return result


def do_send_system_message(conversation: Conversation, actor_id: int | None, content: dict[str, Any]) -> Message:
    """A server-made `system` message (group events, call records), pushed like any other."""
    result = store_message(conversation, actor_id or 0, Message.Type.SYSTEM, content, "")
    after_store(conversation, result.message)
    return result.message
