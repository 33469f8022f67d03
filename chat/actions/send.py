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
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from chat.actions.compose import after_compose, check_compose
from chat.models import Attachment, AttachmentUse, Message
from chat.representations import message_dict
from conversations.actions.access import access_memberships, member_of
from conversations.actions.direct import check_direct_allowed, direct_checks, direct_members
from conversations.models import Conversation, Membership
from imsite import metrics, snowflake
from imsite.bulk_sql import update_from_values
from imsite.errors import ImError, not_found
from imsite.events import send_event
from imsite.inputs import read_id
from imsite.realtime.state import get_state
from imsite.shards import shard_alias
from imsite.timefmt import iso


@dataclass
class SendResult:
    message: Message
    created: bool

    def ack(self) -> dict[str, Any]:
        m = self.message
        return {"type": "ack", "msg_id": str(m.msg_id), "conversation_id": m.conversation_id, "seq": m.seq,
                "created_at": iso(m.created_at)}


def parse_msg_id(raw: Any) -> int:
    return read_id(raw, "msg_id", strings=True, code="invalid_msg_id",
                   message=gettext("msg_id must be a decimal string."))


@dataclass(frozen=True)
class NewMessage:
    conversation: Conversation
    sender_id: int
    msg_type: str
    content: dict[str, Any]
    search_text: str
    msg_id: int | None = None
    reply_to_id: int | None = None
    reply_to: dict[str, Any] | None = None
    forwarded: bool = False


def _take_seqs(alias: str, counts: dict[str, int]) -> dict[str, int]:
    """Reserve `counts[c]` seqs of each conversation in the running transaction; returns each
    one's first. Rows are locked in conversation id order (the lock order across batches)."""
    order = sorted(counts)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_conversationcounter (conversation_id, last_seq) VALUES "
            + ", ".join(["(%s, %s)"] * len(order))
            + " ON CONFLICT (conversation_id) DO UPDATE SET last_seq = chat_conversationcounter.last_seq"
            " + excluded.last_seq RETURNING conversation_id, last_seq",
            [value for cid in order for value in (cid, counts[cid])],
        )
        return {cid: last - counts[cid] + 1 for cid, last in cursor.fetchall()}


def _store_on_shard(alias: str, items: list[NewMessage]) -> list[SendResult | ImError]:
    fresh = iter(snowflake.next_ids(sum(1 for item in items if item.msg_id is None)))
    ids = [item.msg_id or next(fresh) for item in items]
    try:
        with transaction.atomic(using=alias):
            counts: dict[str, int] = {}
            for item in items:
                counts[item.conversation.id] = counts.get(item.conversation.id, 0) + 1
            next_seq = _take_seqs(alias, counts)
            rows = []
            for item, msg_id in zip(items, ids, strict=True):  # arrival order is seq order
                seq = next_seq[item.conversation.id]
                next_seq[item.conversation.id] = seq + 1
                rows.append(Message(msg_id=msg_id, conversation_id=item.conversation.id, seq=seq,
                                    sender_id=item.sender_id, type=item.msg_type, content=item.content,
                                    search_text=item.search_text, created_at=timezone.now(),
                                    reply_to_id=item.reply_to_id, reply_to=item.reply_to, forwarded=item.forwarded))
            Message.objects.using(alias).bulk_create(rows)
    except IntegrityError:
        if len(items) > 1:  # a msg_id stored meanwhile (another node, a retried frame): one by one
            return [result for item in items for result in _store_on_shard(alias, [item])]
        item = items[0]
        existing = Message.objects.using(alias).filter(msg_id=ids[0]).first()
        if existing is None or existing.sender_id != item.sender_id or existing.conversation_id != item.conversation.id:
            return [ImError("invalid_msg_id", gettext("This msg_id is already used."))]
        return [SendResult(existing, created=False)]
    for item in items:
        metrics.MESSAGES_STORED.labels(kind=item.conversation.kind).inc()
    return [SendResult(row, created=True) for row in rows]


def store_messages(items: list[NewMessage]) -> list[SendResult | ImError]:
    """Take the next seqs and insert, in one transaction per shard: a seq is never shared nor
    skipped, and the `msg_id` primary key makes a repeated id find the stored row."""
    by_shard: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_shard.setdefault(shard_alias(item.conversation.shard), []).append(index)
    results: list[SendResult | ImError] = [ImError("internal", "")] * len(items)
    for alias, indexes in by_shard.items():
        for index, result in zip(indexes, _store_on_shard(alias, [items[i] for i in indexes]), strict=True):
            results[index] = result
    return results


def store_message(conversation: Conversation, sender_id: int, msg_type: str, content: dict[str, Any],
                  search_text: str, msg_id: int | None = None) -> SendResult:
    result = store_messages([NewMessage(conversation, sender_id, msg_type, content, search_text, msg_id)])[0]
    if isinstance(result, ImError):
        raise result
    return result


Stored = tuple[Conversation, Message, str | None]  # conversation, message, the sending socket


def _newest(values: dict[Any, int], key: Any, seq: int) -> None:
    values[key] = max(values.get(key, 0), seq)


def after_store_many(stored: list[Stored]) -> None:
    """Move the main database's mirrors forward and push the messages (idempotent): one statement
    each for the conversations, the members' flags and the senders' read cursors, whatever the
    batch size. Lock order: conversations, then memberships."""
    if not stored:
        return
    now = timezone.now()
    snapshots = [message_dict(message) for _, message, _ in stored]
    top: dict[str, int] = {}  # conversation id -> index of its newest message in the batch
    readers: dict[tuple[str, int], int] = {}  # (conversation, sender) -> seq: sending reads what is before
    for index, (conversation, message, _) in enumerate(stored):
        if conversation.id not in top or message.seq > stored[top[conversation.id]][1].seq:
            top[conversation.id] = index
        _newest(readers, (conversation.id, message.sender_id), message.seq)
    with transaction.atomic():
        update_from_values(  # rows in id order: the same lock order in every batch
            "default", "conversations_conversation",
            {"id": "text", "seq": "bigint", "snapshot": "json", "at": "timestamp"},
            [(cid, stored[i][1].seq, snapshots[i], stored[i][1].created_at) for cid, i in sorted(top.items())],
            "last_seq = v.seq, last_message = v.snapshot, last_message_at = v.at, updated_at = %s",
            "conversations_conversation.id = v.id AND conversations_conversation.last_seq < v.seq", [now])
        # A hidden or deleted conversation comes back into its members' lists; the sender's read
        # cursor moves to their message (past a read cursor are only others' messages).
        Membership.objects.filter(conversation_id__in=sorted(top), active=True).filter(
            Q(hidden=True) | Q(deleted=True)).update(hidden=False, deleted=False, updated_at=now)
        update_from_values(
            "default", "conversations_membership", {"cid": "text", "uid": "bigint", "seq": "bigint"},
            [(cid, uid, seq) for (cid, uid), seq in sorted(readers.items())],
            "read_seq = v.seq, updated_at = %s",
            "conversations_membership.conversation_id = v.cid AND conversations_membership.user_id = v.uid"
            " AND conversations_membership.active AND conversations_membership.read_seq < v.seq", [now])
        members = _recipients([conversation for conversation, _, _ in stored])
        # The sender's other devices get their message too. Sent from a socket that is the
        # sender's only one, the echo would just come back to it to be dropped: not sent. (A device
        # connecting meanwhile has it below its push baseline: history, not push, as for
        # everything sent before it came.)
        devices = get_state().devices_of(sorted({m.sender_id for _, m, exclude in stored if exclude}))
        for (conversation, message, exclude_channel), snapshot in zip(stored, snapshots, strict=True):
            recipients = members[conversation.id]
            sender = message.sender_id
            send_event({"type": "message", "message": snapshot}, [uid for uid in recipients if uid != sender])
            alone = exclude_channel is not None and set(devices[sender]) <= {exclude_channel}
            if sender in recipients and not alone:
                own = dict(snapshot, status="sent") if conversation.kind == "direct" else snapshot
                send_event({"type": "message", "message": own}, [sender], exclude_channel=exclude_channel)


def after_store(conversation: Conversation, message: Message, *, exclude_channel: str | None = None) -> None:
    after_store_many([(conversation, message, exclude_channel)])


def _recipients(conversations: list[Conversation]) -> dict[str, list[int]]:
    """Members of each conversation: a direct one's from its id, the groups' in one query."""
    members = {c.id: direct_members(c.id) for c in conversations if c.kind == Conversation.Kind.DIRECT}
    groups = {c.id for c in conversations if c.kind != Conversation.Kind.DIRECT}
    for cid in groups:
        members[cid] = []
    if groups:
        for cid, uid in Membership.objects.filter(conversation_id__in=groups, active=True).values_list(
                "conversation_id", "user_id"):
            members[cid].append(uid)
    return members


@dataclass(frozen=True)
class SendRequest:
    user_id: int
    conversation_id: Any
    msg_type: Any
    content: Any
    raw_msg_id: Any = None
    exclude_channel: str | None = None
    reply_to: Any = None
    forward: Any = None


def check_send_messages(requests: list[SendRequest]) -> list[SendResult | ImError]:
    """Validate, store, push a batch of sends; each gets its own result or error, whatever the
    others do. The same `msg_id` again stores nothing and answers with the stored message. The
    checks of each send, in order: membership, msg_id, group or block and friendship, content,
    rate limit; the whole batch costs one query for the memberships and one Redis pipeline for
    the reservations, one for the rate limits and one for the releases."""
    results: list[SendResult | ImError | None] = [None] * len(requests)
    found = access_memberships([(r.user_id, r.conversation_id) for r in requests],
                               related=("conversation__group",), **direct_checks())
    checked: list[tuple[int, Membership, int | None]] = []
    for index, request in enumerate(requests):
        try:
            membership = member_of(found, request.user_id, request.conversation_id)
            if membership is None:
                raise not_found(gettext("No such conversation."))
            msg_id = None if request.raw_msg_id is None else parse_msg_id(request.raw_msg_id)
            checked.append((index, membership, msg_id))
        except ImError as exc:
            results[index] = exc
    state = get_state()
    with_ids = [(index, msg_id) for index, _, msg_id in checked if msg_id is not None]
    # Each reserved id is bound to the first conversation it is sent to (atomically, on any node).
    conversation_of = {index: membership.conversation_id for index, membership, _ in checked}
    reserved = dict(zip([i for i, _ in with_ids], state.claim_ids(
        [(requests[i].user_id, m, conversation_of[i]) for i, m in with_ids]), strict=True))
    accepted: list[tuple[int, NewMessage]] = []
    attachments: dict[int, Attachment] = {}
    first_of: dict[int, int] = {}  # msg_id -> index of its first send in this batch
    repeats: list[tuple[int, int]] = []
    for index, membership, msg_id in checked:
        request, conversation = requests[index], membership.conversation
        try:
            if msg_id is not None and msg_id in first_of:
                if conversation_of[first_of[msg_id]] != conversation.id:
                    raise ImError("invalid_msg_id", gettext("This msg_id is already used."))
                repeats.append((index, first_of[msg_id]))
                continue
            if msg_id is not None and not reserved[index]:
                # Not reserved (any more): a resend of a stored message, answered with the same ack
                # (and pushed again), or not this user's id.
                results[index] = _resend(request, conversation, msg_id)
                continue
            if conversation.kind == Conversation.Kind.GROUP:
                if conversation.group.dissolved:
                    raise ImError("group_dissolved", gettext("This group was dissolved."))
            else:
                check_direct_allowed(request.user_id, membership.peer_id, blocked=membership.blocked_between,
                                     befriended=membership.befriended)
            composed = check_compose(request.user_id, membership, request.msg_type, request.content,
                                     request.reply_to, request.forward)
        except ImError as exc:
            results[index] = exc
            continue
        if msg_id is not None:
            first_of[msg_id] = index
        accepted.append((index, NewMessage(conversation, request.user_id, composed.msg_type, composed.content,
                                           composed.search_text, msg_id, composed.reply_to_id, composed.reply_to,
                                           composed.forwarded)))
        if composed.attachment is not None:
            attachments[index] = composed.attachment
    allowed = state.take_tokens([f"send:{requests[i].user_id}" for i, _ in accepted],
                                settings.IM_SEND_RATE, 2 * settings.IM_SEND_RATE)
    to_store = []
    for (index, item), ok in zip(accepted, allowed, strict=True):
        if ok:
            to_store.append((index, item))
        else:
            results[index] = ImError("rate_limited", gettext("You are sending too fast."))
    stored = store_messages([item for _, item in to_store])
    pushed: list[Stored] = []
    for (index, item), result in zip(to_store, stored, strict=True):
        results[index] = result
        if isinstance(result, SendResult):
            pushed.append((item.conversation, result.message, requests[index].exclude_channel))
            if index in attachments:
                AttachmentUse.objects.get_or_create(attachment=attachments[index], conversation=item.conversation)
    after_store_many(pushed)
    after_compose([message for _, message, _ in pushed])
    state.release_ids([(item.sender_id, item.msg_id) for (_, item), result in zip(to_store, stored, strict=True)
                       if item.msg_id is not None and isinstance(result, SendResult)])
    for index, first in repeats:
        earlier = results[first]
        results[index] = SendResult(earlier.message, created=False) if isinstance(earlier, SendResult) else earlier
    return results  # type: ignore[return-value]  (every index was answered above)


def _resend(request: SendRequest, conversation: Conversation, msg_id: int) -> SendResult:
    existing = Message.objects.using(shard_alias(conversation.shard)).filter(msg_id=msg_id).first()
    if existing is None or existing.sender_id != request.user_id or existing.conversation_id != conversation.id:
        raise ImError("invalid_msg_id", gettext("msg_id must be one reserved by you in the last 24 hours."))
    after_store(conversation, existing, exclude_channel=request.exclude_channel)
    return SendResult(existing, created=False)


def check_send_message(user_id: int, conversation_id: Any, msg_type: Any, content: Any, raw_msg_id: Any = None,
                       *, exclude_channel: str | None = None, reply_to: Any = None, forward: Any = None) -> SendResult:
    """One send (REST, tests): a batch of one."""
    result = check_send_messages([SendRequest(user_id, conversation_id, msg_type, content, raw_msg_id,
                                              exclude_channel, reply_to, forward)])[0]
    if isinstance(result, ImError):
        raise result
    return result


def do_send_system_message(conversation: Conversation, actor_id: int | None, content: dict[str, Any]) -> Message:
    """A server-made `system` message (group events, call records), pushed like any other."""
    result = store_message(conversation, actor_id or 0, Message.Type.SYSTEM, content, "")
    after_store(conversation, result.message)
    return result.message
