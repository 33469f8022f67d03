"""The acknowledgement chain after the store: `delivered` from a device and `read` up to a seq.
Cursors only move forward, so statuses never go back. Lock order: the membership row alone."""

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.models import Message
from conversations.actions.access import access_membership
from conversations.actions.direct import peer_of
from conversations.models import Membership
from conversations.representations import load_conversation_dict
from imsite import metrics
from imsite.errors import ImError, not_found
from imsite.events import send_event
from imsite.realtime.state import get_state
from imsite.shards import shard_alias

EXTRA_LIMIT = 1000  # acknowledged seqs kept above the contiguous cursor; beyond it, re-pushed at most


def _parse_ids(raw: Any) -> list[int]:
    if not isinstance(raw, list) or not raw or len(raw) > 1000:
        raise ImError("invalid_frame", "msg_ids must be a list of 1 to 1000 ids.")
    ids = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).isdigit():
            raise ImError("invalid_frame", "msg_ids must hold decimal strings.")
        ids.append(int(item))
    return ids


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


def do_mark_delivered(user_id: int, conversation_id: Any, raw_ids: Any, channel: str | None = None) -> list[str]:
    """A device says these messages reached it. Returns the ids newly known as delivered."""
    ids = _parse_ids(raw_ids)
    if channel:
        # Only this device's own pending entries for these ids can go: harmless before the check.
        get_state().pending_ack(channel, ids)
    with transaction.atomic():
        membership = access_membership(user_id, conversation_id, lock=True)
        alias = shard_alias(membership.conversation.shard)
        found = list(Message.objects.using(alias).filter(conversation_id=membership.conversation_id, msg_id__in=ids)
                     .values_list("msg_id", "seq", "created_at", "sender_id"))
        if not found:
            raise not_found("No such message in this conversation.")
        # The user's own messages need no acknowledgement (their other devices may send one anyway).
        rows = [(mid, seq, at) for mid, seq, at, sender in found if sender != user_id]
        known = set(membership.delivered_extra)
        fresh = [(mid, seq, at) for mid, seq, at in rows if seq > membership.delivered_seq and seq not in known]
        if not fresh:
            return []
        cursor, extra = _advance(membership, {seq for _, seq, _ in fresh})
        Membership.objects.filter(id=membership.id).update(delivered_seq=cursor, delivered_extra=extra)
        now = time.time()
        for _, _, created_at in fresh:
            metrics.DELIVERY_SECONDS.observe(max(0.0, now - created_at.timestamp()))
        new_ids = [str(mid) for mid, _, _ in fresh]
        if membership.conversation.kind == "direct":
            send_event({"type": "receipt", "conversation_id": membership.conversation_id, "user_id": user_id,
                        "status": "delivered", "msg_ids": new_ids}, [peer_of(membership.conversation_id, user_id)])
    return new_ids


def do_mark_read(user_id: int, conversation_id: Any, seq: Any, channel: str | None = None) -> dict[str, Any]:
    """Everything up to `seq` is read (the cursor only moves forward). Returns the conversation."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ImError("invalid_frame", "seq must be a non-negative integer.")
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
        get_state().pending_ack_upto(channel, membership.conversation_id, target)
    return conversation
