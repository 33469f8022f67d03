"""Sending a message: one path for the socket, REST, groups' system messages and calls.

Order of work (docs/architecture.md): validate; store on the conversation's shard in one local
transaction that takes the next seq and inserts (the `msg_id` primary key makes a retried send
find the stored row instead of storing twice); then move the main database's mirrors forward
(conversation's last seq and message, members' hidden/deleted flags, the sender's read cursor);
then push `message` to every device of every member. Each step after the store is idempotent, and
a retried send runs them again, pushes included (a socket that has the seq already drops the
repeat), so a crash between the store and the push heals when the client retries.
"""

import contextlib
import dataclasses
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connections, transaction
from django.db.models import Field, Q
from django.utils import timezone
from django.utils.translation import gettext

from chat.actions.compose import after_compose, check_compose
from chat.models import Attachment, AttachmentUse, Message
from chat.representations import message_dict
from conversations.actions.access import access_memberships, member_of
from conversations.actions.direct import check_direct_allowed, direct_checks, direct_members
from conversations.models import Conversation, Membership
from imsite import metrics, snowflake
from imsite.batching import after_answers
from imsite.bulk_sql import update_from_values
from imsite.db_threads import run_checked
from imsite.errors import ImError, not_found
from imsite.events import send_event
from imsite.inputs import read_id
from imsite.realtime.claims import Claimed, SendClaim, claims
from imsite.realtime.presence import presence
from imsite.shards import shard_alias
from imsite.timefmt import iso

log = logging.getLogger(__name__)


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


@functools.cache
def _store_statement(alias: str) -> tuple[str, tuple[Field, ...]]:
    """PostgreSQL: the seqs and the insert of a whole batch in one statement (so one round trip
    and, in autocommit, its own transaction), its text the same for any batch size: the rows come
    as one array per column. Counter rows are upserted (locked) in conversation id order; each
    conversation's rows take its seqs in arrival order."""
    fields = tuple(f for f in Message._meta.concrete_fields if f.attname != "seq")
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    return (
        f"WITH input AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY AS t({columns}, ord)),"
        " counts AS (SELECT conversation_id, count(*) AS n FROM input GROUP BY conversation_id),"
        " counters AS (INSERT INTO chat_conversationcounter (conversation_id, last_seq)"
        " SELECT conversation_id, n FROM counts ORDER BY conversation_id"
        " ON CONFLICT (conversation_id) DO UPDATE SET last_seq = chat_conversationcounter.last_seq + excluded.last_seq"
        " RETURNING conversation_id, last_seq)"
        f" INSERT INTO chat_message ({columns}, seq)"
        f" SELECT {', '.join('i.' + quote(f.column) for f in fields)},"
        " c.last_seq - k.n + row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.ord)"
        " FROM input i JOIN counters c USING (conversation_id) JOIN counts k USING (conversation_id)"
        " RETURNING msg_id, seq"
    ), fields


def _insert(alias: str, rows: list[Message]) -> None:
    """Give the rows their seqs and insert them: one statement on PostgreSQL, a transaction of
    two elsewhere (the embedded default's SQLite)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        sql, fields = _store_statement(alias)
        params = [[field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
                  for field in fields]
        # A savepoint only inside a caller's transaction (else the statement is its own).
        with transaction.atomic(using=alias) if connection.in_atomic_block else contextlib.nullcontext():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                seqs = dict(cursor.fetchall())
        for row in rows:  # as the ORM leaves a saved row: from this shard
            row.seq = seqs[row.msg_id]
            row._state.db, row._state.adding = alias, False
        return
    with transaction.atomic(using=alias):
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.conversation_id] = counts.get(row.conversation_id, 0) + 1
        next_seq = _take_seqs(alias, counts)
        for row in rows:  # arrival order is seq order
            row.seq = next_seq[row.conversation_id]
            next_seq[row.conversation_id] += 1
        Message.objects.using(alias).bulk_create(rows)


def _store_on_shard(alias: str, items: list[NewMessage]) -> list[SendResult | ImError]:
    fresh = iter(snowflake.next_ids(sum(1 for item in items if item.msg_id is None)))
    now = timezone.now()
    rows = [Message(msg_id=item.msg_id or next(fresh), conversation_id=item.conversation.id, seq=0,
                    sender_id=item.sender_id, type=item.msg_type, content=item.content,
                    search_text=item.search_text, created_at=now, reply_to_id=item.reply_to_id,
                    reply_to=item.reply_to, forwarded=item.forwarded) for item in items]
    try:
        _insert(alias, rows)
    except IntegrityError:
        if len(items) > 1:  # a msg_id stored meanwhile (another node, a retried frame): one by one
            return [result for item, row in zip(items, rows, strict=True)
                    for result in _store_on_shard(alias, [dataclasses.replace(item, msg_id=row.msg_id)])]
        item = items[0]
        existing = Message.objects.using(alias).filter(msg_id=rows[0].msg_id).first()
        if existing is None or existing.sender_id != item.sender_id or existing.conversation_id != item.conversation.id:
            return [ImError("invalid_msg_id", gettext("This msg_id is already used."))]
        return [SendResult(existing, created=False)]
    for item in items:
        metrics.MESSAGES_STORED.labels(kind=item.conversation.kind).inc()
    return [SendResult(row, created=True) for row in rows]


def _shard_or_failure(alias: str, items: list[NewMessage], checked: bool = False) -> list[Any]:
    """One shard's part; a shard that fails (an outage) fails only its own sends, not the sends
    that another shard of the batch stored. `checked`: on a shard thread (imsite/db_threads.py)."""
    try:
        return run_checked(_store_on_shard, alias, items) if checked else _store_on_shard(alias, items)
    except DatabaseError as exc:
        log.warning("storing on %s failed", alias, exc_info=exc)
        return [exc] * len(items)


_shard_threads = ThreadPoolExecutor(max(1, len(settings.MESSAGE_SHARDS)), thread_name_prefix="shard")


def store_messages(items: list[NewMessage]) -> list[SendResult | ImError]:
    """Take the next seqs and insert, atomically per shard: a seq is never shared nor skipped,
    and the `msg_id` primary key makes a repeated id find the stored row. The shards of a batch
    are written at the same time, each on a thread with its own connection."""
    by_shard: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_shard.setdefault(shard_alias(item.conversation.shard), []).append(index)
    results: list[SendResult | ImError] = [ImError("internal", "")] * len(items)
    work = [(alias, [items[i] for i in indexes]) for alias, indexes in by_shard.items()]
    if len(work) > 1 and not any(connections[alias].in_atomic_block for alias, _ in work):
        answers = list(_shard_threads.map(lambda job: _shard_or_failure(*job, checked=True), work))
    else:
        answers = [_shard_or_failure(alias, shard_items) for alias, shard_items in work]
    for indexes, answer in zip(by_shard.values(), answers, strict=True):
        for index, result in zip(indexes, answer, strict=True):
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


# PostgreSQL: every mirror of a batch in one statement, its text the same for any batch size. A
# hidden or deleted conversation comes back into its members' lists; the sender's read cursor
# moves to their message (past a read cursor are only others' messages); the last line reads the
# groups' member lists (the snapshot before the updates, which do not change them).
_MIRROR_SQL = """
WITH v AS (SELECT * FROM unnest(%s::text[], %s::bigint[], %s::jsonb[], %s::timestamptz[]) AS t(id, seq, snapshot, at)),
 r AS (SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS t(cid, uid, seq)),
 conversations AS (
  UPDATE conversations_conversation c
  SET last_seq = v.seq, last_message = v.snapshot, last_message_at = v.at, updated_at = %s
  FROM v WHERE c.id = v.id AND c.last_seq < v.seq RETURNING c.id),
 members AS (
  UPDATE conversations_membership m
  SET hidden = false, deleted = false, read_seq = GREATEST(m.read_seq, COALESCE(r.seq, 0)), updated_at = %s
  FROM conversations_membership t LEFT JOIN r ON r.cid = t.conversation_id AND r.uid = t.user_id
  WHERE m.id = t.id AND t.conversation_id = ANY(%s::text[]) AND t.active
   AND (t.hidden OR t.deleted OR t.read_seq < r.seq)
  RETURNING m.id)
SELECT conversation_id, user_id FROM conversations_membership WHERE conversation_id = ANY(%s::text[]) AND active
"""
CONFLICT_RETRIES = 3


def _mirror(top: list[tuple[str, int, dict[str, Any], Any]], readers: list[tuple[str, int, int]],
            groups: list[str]) -> dict[str, list[int]]:
    """Move the main database's mirrors (conversations' last message, members' flags and the
    senders' read cursors) and read the groups' members. Retried on a deadlock or serialization
    failure (another node's batch or a receipt holding the same rows), unless inside a caller's
    transaction, which then fails as a whole."""
    now = timezone.now()
    for attempt in range(CONFLICT_RETRIES):
        try:
            return _mirror_once(top, readers, groups, now)
        except OperationalError as exc:
            if (connections["default"].in_atomic_block or attempt == CONFLICT_RETRIES - 1
                    or getattr(exc.__cause__, "sqlstate", None) not in ("40P01", "40001")):
                raise
    raise AssertionError("unreachable")


def _mirror_once(top: list[tuple[str, int, dict[str, Any], Any]], readers: list[tuple[str, int, int]],
                 groups: list[str], now: Any) -> dict[str, list[int]]:
    members: dict[str, list[int]] = {cid: [] for cid in groups}
    connection = connections["default"]
    if connection.vendor == "postgresql":
        columns = [list(column) for column in zip(*top, strict=True)]
        columns[2] = [orjson.dumps(snapshot).decode() for snapshot in columns[2]]
        reader_columns = [list(column) for column in zip(*readers, strict=True)] if readers else [[], [], []]
        with connection.cursor() as cursor:
            cursor.execute(_MIRROR_SQL, [*columns, *reader_columns, now, now, columns[0], groups])
            for cid, uid in cursor.fetchall():
                members[cid].append(uid)
        return members
    with transaction.atomic():  # the same steps, one statement each (the embedded default's SQLite)
        update_from_values(  # rows in id order: the same lock order in every batch
            "default", "conversations_conversation",
            {"id": "text", "seq": "bigint", "snapshot": "json", "at": "timestamp"}, top,
            "last_seq = v.seq, last_message = v.snapshot, last_message_at = v.at, updated_at = %s",
            "conversations_conversation.id = v.id AND conversations_conversation.last_seq < v.seq", [now])
        Membership.objects.filter(conversation_id__in=[cid for cid, *_ in top], active=True).filter(
            Q(hidden=True) | Q(deleted=True)).update(hidden=False, deleted=False, updated_at=now)
        update_from_values(
            "default", "conversations_membership", {"cid": "text", "uid": "bigint", "seq": "bigint"}, readers,
            "read_seq = v.seq, updated_at = %s",
            "conversations_membership.conversation_id = v.cid AND conversations_membership.user_id = v.uid"
            " AND conversations_membership.active AND conversations_membership.read_seq < v.seq", [now])
        for cid, uid in Membership.objects.filter(conversation_id__in=groups, active=True).values_list(
                "conversation_id", "user_id"):
            members[cid].append(uid)
    return members


def after_store_many(stored: list[Stored]) -> None:
    """Move the main database's mirrors forward and push the messages (idempotent): one round
    trip to the main database whatever the batch size (imsite/bulk_sql.py's form on SQLite)."""
    if not stored:
        return
    snapshots = [message_dict(message) for _, message, _ in stored]
    top: dict[str, int] = {}  # conversation id -> index of its newest message in the batch
    readers: dict[tuple[str, int], int] = {}  # (conversation, sender) -> seq: sending reads what is before
    for index, (conversation, message, _) in enumerate(stored):
        if conversation.id not in top or message.seq > stored[top[conversation.id]][1].seq:
            top[conversation.id] = index
        _newest(readers, (conversation.id, message.sender_id), message.seq)
    groups = sorted({c.id for c, _, _ in stored if c.kind != Conversation.Kind.DIRECT})
    newest = [(cid, stored[i][1].seq, snapshots[i], stored[i][1].created_at) for cid, i in sorted(top.items())]
    members = _mirror(newest, [(cid, uid, seq) for (cid, uid), seq in sorted(readers.items())], groups)
    for conversation, _, _ in stored:
        if conversation.kind == Conversation.Kind.DIRECT:
            members[conversation.id] = direct_members(conversation.id)
    # The sender's other devices get their message too. Sent from a socket that is the sender's
    # only one, the echo would just come back to it to be dropped: not sent. Presence is read
    # after the mirrors committed: a device connecting meanwhile has the message below its push
    # baseline (history, not push), or is seen here. Alone only if presence names the sending
    # socket and nothing else: presence lost with Redis (until the nodes register their sockets
    # again) knows no device at all, and then the echo goes out.
    devices = presence().devices_of(sorted({m.sender_id for _, m, exclude in stored if exclude}))
    for (conversation, message, exclude_channel), snapshot in zip(stored, snapshots, strict=True):
        recipients = members[conversation.id]
        sender = message.sender_id
        send_event({"type": "message", "message": snapshot}, [uid for uid in recipients if uid != sender])
        alone = exclude_channel is not None and set(devices[sender]) == {exclude_channel}
        if sender in recipients and not alone:
            own = dict(snapshot, status="sent") if conversation.kind == "direct" else snapshot
            send_event({"type": "message", "message": own}, [sender], exclude_channel=exclude_channel)


def after_store(conversation: Conversation, message: Message, *, exclude_channel: str | None = None) -> None:
    after_store_many([(conversation, message, exclude_channel)])


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
    checks of each send: membership, msg_id, group or block and friendship, content, then the
    reservation and the rate limit together. The whole batch costs one query for the memberships,
    one Redis round trip for the reservations and rate limits, one statement per shard (the shards
    at the same time), one for the mirrors; the reserved ids are released after the answers."""
    results: list[SendResult | ImError | None] = [None] * len(requests)
    found = access_memberships([(r.user_id, r.conversation_id) for r in requests],
                               related=("conversation__group",), **direct_checks())
    accepted: list[tuple[int, NewMessage]] = []
    refused: list[tuple[int, Membership, int, ImError]] = []  # refused here, unless a resend (below)
    attachments: dict[int, Attachment] = {}
    first_of: dict[int, int] = {}  # msg_id -> index of its first accepted send in this batch
    repeats: list[tuple[int, int]] = []
    for index, request in enumerate(requests):
        msg_id = None
        try:
            membership = member_of(found, request.user_id, request.conversation_id)
            if membership is None:
                raise not_found(gettext("No such conversation."))
            conversation = membership.conversation
            msg_id = None if request.raw_msg_id is None else parse_msg_id(request.raw_msg_id)
            if msg_id is not None and msg_id in first_of:
                if requests[first_of[msg_id]].conversation_id != conversation.id:
                    raise ImError("invalid_msg_id", gettext("This msg_id is already used."))
                repeats.append((index, first_of[msg_id]))
                continue
            try:
                if conversation.kind == Conversation.Kind.GROUP:
                    if conversation.group.dissolved:
                        raise ImError("group_dissolved", gettext("This group was dissolved."))
                else:
                    check_direct_allowed(request.user_id, membership.peer_id, blocked=membership.blocked_between,
                                         befriended=membership.befriended)
                composed = check_compose(request.user_id, membership, request.msg_type, request.content,
                                         request.reply_to, request.forward)
            except ImError as exc:
                if msg_id is None:
                    raise
                refused.append((index, membership, msg_id, exc))
                continue
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
    # Each reserved id is bound to the first conversation it is sent to (atomically, on any node);
    # a send that is not reserved (any more) is a resend of a stored message, answered with the
    # same ack (and pushed again), or not this user's id.
    wanted = [SendClaim(item.sender_id, item.msg_id, item.conversation.id, True) for _, item in accepted]
    wanted += [SendClaim(requests[i].user_id, msg_id, m.conversation_id, False) for i, m, msg_id, _ in refused]
    outcomes = claims().claim_sends(wanted, settings.IM_SEND_RATE, 2 * settings.IM_SEND_RATE)
    to_store = []
    for (index, item), outcome in zip(accepted, outcomes, strict=False):
        if outcome == Claimed.OK:
            to_store.append((index, item))
        elif outcome == Claimed.RATE_LIMITED:
            results[index] = ImError("rate_limited", gettext("You are sending too fast."))
        else:
            results[index] = _resend_or_error(requests[index], item.conversation, item.msg_id)  # type: ignore[arg-type]
    for (index, membership, msg_id, error), outcome in zip(refused, outcomes[len(accepted):], strict=True):
        results[index] = error if outcome != Claimed.NOT_RESERVED else _resend_or_error(
            requests[index], membership.conversation, msg_id)
    stored = store_messages([item for _, item in to_store])
    pushed: list[Stored] = []
    for (index, item), result in zip(to_store, stored, strict=True):
        results[index] = result
        if isinstance(result, SendResult):
            pushed.append((item.conversation, result.message, requests[index].exclude_channel))
    # Stored is stored: from here on nothing answers these sends with an error. The mirrors and
    # pushes heal with the next message of the conversation (and the offline push); the client
    # has its ack.
    try:
        for index, item in to_store:
            if index in attachments and isinstance(results[index], SendResult):
                AttachmentUse.objects.get_or_create(attachment=attachments[index], conversation=item.conversation)
        after_store_many(pushed)
        after_compose([message for _, message, _ in pushed])
    except Exception:
        log.exception("mirrors of a stored batch failed")
    released = [(item.sender_id, item.msg_id) for (_, item), result in zip(to_store, stored, strict=True)
                if item.msg_id is not None and isinstance(result, SendResult)]
    if released:
        after_answers(lambda: claims().release_ids(released))
    for index, first in repeats:
        earlier = results[first]
        results[index] = SendResult(earlier.message, created=False) if isinstance(earlier, SendResult) else earlier
    return results  # type: ignore[return-value]  (every index was answered above)


def _resend_or_error(request: SendRequest, conversation: Conversation, msg_id: int) -> SendResult | ImError:
    try:
        return _resend(request, conversation, msg_id)
    except ImError as exc:
        return exc


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
