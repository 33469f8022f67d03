"""Delivery to devices: the pending-acknowledgement index, its retry sweep, and the offline push
on connect (docs/api.md section 5, delivery rules)."""

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import F, QuerySet

from chat.models import Message
from chat.representations import message_dict
from conversations.models import Conversation, Membership
from imsite.realtime.pending import PendingPush, pending
from imsite.realtime.presence import presence
from imsite.shards import shard_alias

OFFLINE_PAGE = 500
CLAIM_LEASE = 10.0  # seconds a sweeper holds the due entries it took


def register_pushes(pushes: list[tuple[str, int, dict[str, Any]]]) -> None:
    """Messages (channel, user id, message) written to devices' sockets: each waits for that
    device's `delivered`, in one Redis transaction for the batch."""
    delays = settings.IM_ACK_RETRY_DELAYS
    if not delays:
        return
    now = time.time()
    pending().add_many([
        (PendingPush(channel, user_id, message["conversation_id"], int(message["msg_id"]), message["seq"], 0, now),
         now + delays[0])
        for channel, user_id, message in pushes
        if message["sender_id"] != user_id  # the sender's own devices hold it already; no ack needed
    ])


def push_baselines(user_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per user, per conversation, the last seq stored: a socket connecting now gets what is at
    most this seq through the offline push (unacknowledged) or the pull, and what is above it live."""
    baselines: dict[int, dict[str, int]] = {user_id: {} for user_id in user_ids}
    for user_id, conversation_id, last_seq in (Membership.objects.filter(user_id__in=user_ids, active=True)
                                               .values_list("user_id", "conversation_id", "conversation__last_seq")):
        baselines[user_id][conversation_id] = last_seq
    return baselines


def _unacknowledged_memberships(user_ids: list[int]) -> QuerySet[Membership]:
    """The users' memberships with messages no device of theirs acknowledged, oldest first."""
    return (Membership.objects.filter(user_id__in=user_ids)
            .filter(conversation__last_seq__gt=F("delivered_seq"))
            .exclude(active=False, left_seq__isnull=True)
            .select_related("conversation").order_by("conversation__last_message_at"))


def collect_unacknowledged(user_id: int, after: dict[str, int] | None = None,
                           limit: int = OFFLINE_PAGE) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One page of messages no device of the user acknowledged, oldest first per conversation.
    `after` maps conversation ids to the last seq already pushed; returns the page and the map to
    continue from (empty page: done)."""
    return _page(user_id, _unacknowledged_memberships([user_id]), after or {}, limit)


def first_unacknowledged_pages(user_ids: list[int], limit: int = OFFLINE_PAGE,
                               ) -> dict[int, tuple[list[dict[str, Any]], dict[str, int] | None]]:
    """`collect_unacknowledged`'s first page for each of many users, their memberships in one
    query; with where the next page starts, or None when this one holds everything."""
    by_user: dict[int, list[Membership]] = {user_id: [] for user_id in user_ids}
    for membership in _unacknowledged_memberships(user_ids):
        by_user[membership.user_id].append(membership)
    pages = {}
    for user_id, memberships in by_user.items():
        page, after = _page(user_id, memberships, {}, limit)
        pages[user_id] = (page, after if len(page) >= limit else None)  # short: every membership was read
    return pages


def _page(user_id: int, memberships: Iterable[Membership], after: dict[str, int],
          limit: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    after = dict(after)
    page: list[dict[str, Any]] = []
    for m in memberships:
        if len(page) >= limit:
            break
        start = max(m.delivered_seq, m.visible_floor(), after.get(m.conversation_id, 0))
        queryset = (Message.objects.using(shard_alias(m.conversation.shard))
                    .filter(conversation_id=m.conversation_id, seq__gt=start)
                    .exclude(sender_id=user_id).order_by("seq"))
        if m.left_seq is not None:
            queryset = queryset.filter(seq__lte=m.left_seq)
        if m.delivered_extra:
            queryset = queryset.exclude(seq__in=m.delivered_extra)
        rows = list(queryset[: limit - len(page)])
        if rows:
            page.extend(message_dict(row) for row in rows)
            after[m.conversation_id] = rows[-1].seq
    return page, after


def sweep_pending_acks(limit: int = 1000) -> int:
    """Re-push every due, unacknowledged push to the device that is still connected; after the
    last delay the entry is dropped and the message waits for the user's next connect. Runs every
    second (Celery beat, or an in-process loop in the embedded default); several sweeps may run at
    once (a backlog after a worker restart): each due entry is claimed by one of them for
    CLAIM_LEASE seconds, and becomes due again if its sweeper dies before rescheduling it.
    Returns pushes re-sent."""
    index = pending()
    delays = settings.IM_ACK_RETRY_DELAYS
    due = index.claim(time.time(), limit, CLAIM_LEASE)
    live: list[PendingPush] = []
    for push in due:
        if push.attempt >= len(delays) or not presence().device_alive(push.user_id, push.channel):
            index.drop(push)  # gone or done: the message waits for the user's next connect
        else:
            live.append(push)
    by_conversation: dict[str, list[PendingPush]] = defaultdict(list)
    for push in live:
        by_conversation[push.conversation_id].append(push)
    shards = dict(Conversation.objects.filter(id__in=list(by_conversation)).values_list("id", "shard"))
    layer = get_channel_layer()
    sent = 0
    for conversation_id, pushes in by_conversation.items():
        alias = shard_alias(shards.get(conversation_id, 0))
        messages = {m.msg_id: m for m in Message.objects.using(alias).filter(msg_id__in=[p.msg_id for p in pushes])}
        for push in sorted(pushes, key=lambda p: p.seq):
            message = messages.get(push.msg_id)
            if message is None:
                index.drop(push)
                continue
            # Push first, then reschedule: dying in between means one push too many, never one too few.
            async_to_sync(layer.send)(push.channel, {"type": "im.retry", "frame":
                                                     {"type": "message", "message": message_dict(message)}})
            attempt = push.attempt + 1
            if attempt < len(delays):
                index.reschedule(PendingPush(**{**push.__dict__, "attempt": attempt}),
                                 push.pushed_at + delays[attempt])
            else:
                index.drop(push)  # last retry: afterwards it waits for the next connect
            sent += 1
    return sent
