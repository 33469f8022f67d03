"""The acknowledgement chain after the store: `delivered` from a device and `read` up to a seq.
Cursors only move forward, so statuses never go back. Lock order: membership rows in id order."""

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from chat.actions.delivery import register_pushes
from chat.actions.ephemeral import do_device_gone
from chat.models import Message
from conversations.actions.access import access_membership, access_memberships, member_of
from conversations.actions.direct import peer_of
from conversations.models import Membership
from conversations.representations import load_conversation_dict
from imsite import metrics
from imsite.bulk_sql import update_from_values
from imsite.errors import ImError, not_found
from imsite.events import send_event
from imsite.inputs import read_id, read_int
from imsite.realtime.pending import PendingAck, pending
from imsite.shards import shard_alias

EXTRA_LIMIT = 1000  # acknowledged seqs kept above the contiguous cursor; beyond it, re-pushed at most


def _parse_ids(raw: Any) -> list[int]:
    if not isinstance(raw, list) or not raw or len(raw) > 1000:
        raise ImError("invalid_frame", gettext("msg_ids must be a list of 1 to 1000 ids."))
    message = gettext("msg_ids must hold decimal strings.")
    return [read_id(item, "msg_ids", strings=True, code="invalid_frame", message=message) for item in raw]


def _advance(membership: Membership, acked: set[int]) -> tuple[int, list[int]]:
    """The new contiguous cursor and the acknowledged seqs left above it. Seqs of the member's
    own messages, and seqs before they joined or after their clear point, need no ack."""
    cursor = max(membership.delivered_seq, membership.visible_floor())
    pending = set(membership.delivered_extra) | acked
    top = max(pending, default=cursor)
    if top > cursor and pending.issuperset(range(cursor + 1, top + 1)):
        cursor = top  # the usual case, acks in order: no need to ask which seqs are others'
    elif top > cursor:
        alias = shard_alias(membership.conversation.shard)
        others = set(Message.objects.using(alias).filter(
            conversation_id=membership.conversation_id, seq__gt=cursor, seq__lte=top)
            .exclude(sender_id=membership.user_id).values_list("seq", flat=True))
        while cursor < top and (cursor + 1 not in others or cursor + 1 in pending):
            cursor += 1
    extra = sorted(s for s in pending if s > cursor)[:EXTRA_LIMIT]
    return cursor, extra


def _parse_seq(raw: Any) -> int:
    return read_int(raw, "seq", 0, code="invalid_frame", message=gettext("seq must be a non-negative integer."))


@dataclass(frozen=True)
class Delivered:
    """A device's `delivered` frame: these `msg_ids`, or (`cumulative`) everything up to `raw_seq`."""

    user_id: int
    conversation_id: Any
    raw_ids: Any
    channel: str | None = None
    raw_seq: Any = None
    cumulative: bool = False


@dataclass(frozen=True)
class Pushed:
    """A message written to a device's socket, to be acknowledged by that device."""

    channel: str
    user_id: int
    message: dict[str, Any]


@dataclass(frozen=True)
class Gone:
    """A device whose socket closed, once the work it received ran (chat/actions/ephemeral.py)."""

    user_id: int
    channel: str


def _top(membership: Membership) -> int:
    """The last seq the member can have been pushed (the main database's mirror moves before the push)."""
    top = membership.conversation.last_seq
    return top if membership.left_seq is None else min(top, membership.left_seq)


def do_mark_delivered_many(requests: list[Delivered]) -> list[list[str] | ImError]:
    """Devices say messages reached them: by id, or cumulatively up to a seq (docs/api.md section
    8). Each request gets the ids newly known as delivered, or its own error. The batch takes one
    Redis round trip (the devices' pending pushes), one locking query for the memberships (id
    order), one query per shard and one UPDATE."""
    results: list[list[str] | ImError] = [[] for _ in requests]
    parsed: list[tuple[int, list[int], int | None]] = []  # request index, ids, cumulative seq
    for index, request in enumerate(requests):
        try:
            if request.cumulative:
                parsed.append((index, [], _parse_seq(request.raw_seq)))
            else:
                parsed.append((index, list(dict.fromkeys(_parse_ids(request.raw_ids))), None))
        except ImError as exc:
            results[index] = exc
    # Only each device's own pending pushes go: harmless before the checks. Retries stop here.
    pending().ack([PendingAck(requests[i].channel, requests[i].conversation_id, tuple(ids), upto)
                    for i, ids, upto in parsed
                    if requests[i].channel and isinstance(requests[i].conversation_id, str)])
    with transaction.atomic():
        found = access_memberships([(requests[i].user_id, requests[i].conversation_id) for i, _, _ in parsed],
                                   lock=True)
        wanted: dict[str, Q] = {}
        for index, ids, upto in parsed:
            membership = member_of(found, requests[index].user_id, requests[index].conversation_id)
            if membership is None:
                continue
            if upto is None:
                where = Q(msg_id__in=ids)
            elif min(upto, _top(membership)) > membership.delivered_seq:
                where = Q(conversation_id=membership.conversation_id, seq__gt=membership.delivered_seq,
                          seq__lte=min(upto, _top(membership)))
            else:
                continue
            alias = shard_alias(membership.conversation.shard)
            wanted[alias] = wanted[alias] | where if alias in wanted else where
        rows = {row[0]: row for alias, where in wanted.items() for row in Message.objects.using(alias).filter(
            where).values_list("msg_id", "conversation_id", "seq", "created_at", "sender_id")}
        by_seq = {(row[1], row[2]): row for row in rows.values()}
        changed: dict[int, Membership] = {}
        now = time.time()
        for index, ids, upto in parsed:
            user_id = requests[index].user_id
            membership = member_of(found, user_id, requests[index].conversation_id)
            if membership is None:
                results[index] = not_found(gettext("No such conversation."))
                continue
            cid = membership.conversation_id
            if upto is None:
                mine = [rows[i] for i in ids if i in rows and rows[i][1] == cid]
                if not mine:
                    results[index] = not_found(gettext("No such message in this conversation."))
                    continue
            else:
                target = min(upto, _top(membership))
                mine = [row for seq in range(membership.delivered_seq + 1, target + 1)
                        if (row := by_seq.get((cid, seq))) is not None]
            # The user's own messages need no acknowledgement (their other devices may send one anyway).
            known = set(membership.delivered_extra)
            fresh = [(mid, seq, at) for mid, _, seq, at, sender in mine
                     if sender != user_id and seq > membership.delivered_seq and seq not in known]
            if upto is not None and target > membership.delivered_seq:
                membership.delivered_seq = target
                membership.delivered_seq, membership.delivered_extra = _advance(membership, set())
                changed[membership.id] = membership
            if not fresh:
                continue
            if upto is None:
                membership.delivered_seq, membership.delivered_extra = _advance(membership, {s for _, s, _ in fresh})
                changed[membership.id] = membership
            for _, _, created_at in fresh:
                metrics.DELIVERY_SECONDS.observe(max(0.0, now - created_at.timestamp()))
            new_ids = results[index] = [str(mid) for mid, _, _ in fresh]
            if membership.conversation.kind == "direct":
                receipt: dict[str, Any] = {"type": "receipt", "conversation_id": cid, "user_id": user_id,
                                           "status": "delivered", "msg_ids": new_ids}
                if upto is not None:  # the cumulative form: batch-mode sockets keep only `seq`
                    receipt["seq"] = membership.delivered_seq
                send_event(receipt, [peer_of(cid, user_id)])
        update_from_values(
            "default", "conversations_membership", {"id": "bigint", "seq": "bigint", "extra": "json"},
            [(m.id, m.delivered_seq, m.delivered_extra) for m in changed.values()],
            "delivered_seq = v.seq, delivered_extra = v.extra", "conversations_membership.id = v.id")
    return results


def do_mark_delivered(user_id: int, conversation_id: Any, raw_ids: Any, channel: str | None = None) -> list[str]:
    """A device says these messages reached it. Returns the ids newly known as delivered."""
    result = do_mark_delivered_many([Delivered(user_id, conversation_id, raw_ids, channel)])[0]
    if isinstance(result, ImError):
        raise result
    return result


def do_device_acks(items: list[Pushed | Delivered | Gone]) -> list[list[str] | ImError | None]:
    """The receiving side's batch (imsite/batching.py): the pushes are registered as pending
    first, then the `delivered` frames run; a device acknowledges only what was pushed to it
    earlier, hence in this batch or an earlier one. Devices gone go last: no push registered
    for them in this batch stays pending."""
    register_pushes([(item.channel, item.user_id, item.message) for item in items if isinstance(item, Pushed)])
    deliveries = [(index, item) for index, item in enumerate(items) if isinstance(item, Delivered)]
    results: list[list[str] | ImError | None] = [None] * len(items)
    for (index, _), result in zip(deliveries, do_mark_delivered_many([item for _, item in deliveries]), strict=True):
        results[index] = result
    for item in items:
        if isinstance(item, Gone):
            do_device_gone(item.user_id, item.channel)
    return results


def do_mark_read(user_id: int, conversation_id: Any, seq: Any, channel: str | None = None) -> dict[str, Any]:
    """Everything up to `seq` is read (the cursor only moves forward). Returns the conversation."""
    seq = _parse_seq(seq)
    with transaction.atomic():
        membership = access_membership(user_id, conversation_id, lock=True)
        top = membership.conversation.last_seq
        if membership.left_seq is not None:
            top = min(top, membership.left_seq)
        target = min(seq, top)
        if target > membership.read_seq:
            cursor = max(membership.delivered_seq, target)
            extra = [s for s in membership.delivered_extra if s > cursor]
            Membership.objects.filter(id=membership.id).update(
                read_seq=target, delivered_seq=cursor, delivered_extra=extra, updated_at=timezone.now())
            if membership.conversation.kind == "direct":
                send_event({"type": "receipt", "conversation_id": membership.conversation_id, "user_id": user_id,
                            "status": "read", "seq": target}, [peer_of(membership.conversation_id, user_id)])
            conversation = load_conversation_dict(user_id, membership.conversation_id)
            send_event({"type": "conversation", "conversation": conversation}, [user_id])
        else:
            conversation = load_conversation_dict(user_id, membership.conversation_id)
    if channel:
        pending().ack([PendingAck(channel, membership.conversation_id, (), target)])
    return conversation
