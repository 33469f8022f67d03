"""A user's own view of a conversation: the list, pin/hide/mute, delete (clear for the caller
only); /sync is in conversations/actions/sync.py. Each change reaches the user's other devices as
a `conversation` frame."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.actions.access import access_membership
from conversations.models import Conversation, Membership
from conversations.representations import (
    conversation_dict,
    load_conversation_dict,
    with_list_data,
)
from imsite.errors import invalid
from imsite.events import send_event
from imsite.pagination import decode_cursor, encode_cursor, page_limit

FLAGS = ("pinned", "hidden", "muted")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _position(raw: Any) -> tuple[bool, datetime, str]:
    """A list cursor: [pinned, activity in microseconds since the epoch, conversation id]."""
    if (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], bool) and isinstance(raw[1], int)
            and not isinstance(raw[1], bool) and isinstance(raw[2], str)):
        try:
            return raw[0], EPOCH + timedelta(microseconds=raw[1]), raw[2]
        except OverflowError:
            pass
    raise invalid({"cursor": [_("Not a cursor this server issued.")]})


def conversation_list(user_id: int, params: Any) -> dict[str, Any]:
    """Pinned first, then by last activity, newest first; hidden and deleted left out. Keyset
    paging in SQL on (pinned, activity, id), in one query: an inner select sorts only narrow
    rows (the user's memberships, found by membership_list_idx, with their conversation's
    activity) and keeps the page's ids; the outer one fetches everything a row shows for those
    ids alone, so the cost of wide rows does not grow with the number of conversations."""
    limit = page_limit(params)
    # ?hidden=true: the hidden ones instead, so a user can find a chat they hid and bring it back.
    hidden = params.get("hidden") in ("true", "1")
    activity = Coalesce("conversation__last_message_at", "conversation__created_at")
    ordering = ("-pinned", "-activity", "-conversation_id")
    candidates = Membership.objects.filter(user_id=user_id, active=True, hidden=hidden, deleted=False
                                           ).annotate(activity=activity)
    position = decode_cursor(params)
    if position is not None:
        pinned, at, cid = _position(position)
        after = Q(pinned=pinned, activity__lt=at) | Q(pinned=pinned, activity=at, conversation_id__lt=cid)
        candidates = candidates.filter(after | Q(pinned=False) if pinned else after)
    page_ids = candidates.order_by(*ordering).values("id")[: limit + 1]
    rows = list(with_list_data(Membership.objects.filter(id__in=page_ids)).annotate(activity=activity)
                .order_by(*ordering))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more:
        last = rows[-1]
        nxt = encode_cursor([last.pinned, (last.activity - EPOCH) // timedelta(microseconds=1), last.conversation_id])
    return {"results": [conversation_dict(m) for m in rows], "next": nxt}


def _lock_state(user_id: int, conversation_id: Any) -> Membership:
    """Lock the conversation row, then the caller's membership (the order after_store takes them
    in), so a change of flags or a clear is ordered against a concurrent new message: either the
    message lands after the clear point and brings the row back, or it is before it."""
    membership = access_membership(user_id, conversation_id)
    Conversation.objects.select_for_update().filter(id=membership.conversation_id).values("id").get()
    return access_membership(user_id, conversation_id, lock=True)


def do_update_flags(user_id: int, conversation_id: Any, changes: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for key in FLAGS:
        if key in changes:
            if not isinstance(changes[key], bool):
                raise invalid({key: [_("Must be true or false.")]})
            values[key] = changes[key]
    with transaction.atomic():
        membership = _lock_state(user_id, conversation_id)
        if values:
            Membership.objects.filter(id=membership.id).update(**values, updated_at=timezone.now())
        data = load_conversation_dict(user_id, membership.conversation_id)
        if values:
            send_event({"type": "conversation", "conversation": data}, [user_id])
    return data


def do_delete(user_id: int, conversation_id: Any) -> None:
    """Gone from the caller's list, history cleared for the caller only: the clear point is the
    last seq known now; a message stored concurrently lands after it and stays visible."""
    with transaction.atomic():
        membership = _lock_state(user_id, conversation_id)
        last = membership.conversation.last_seq
        Membership.objects.filter(id=membership.id).update(
            deleted=True, pinned=False, clear_seq=max(membership.clear_seq, last),
            read_seq=max(membership.read_seq, last), delivered_seq=max(membership.delivered_seq, last),
            delivered_extra=[s for s in membership.delivered_extra if s > last], updated_at=timezone.now())
        data = load_conversation_dict(user_id, membership.conversation_id)
        send_event({"type": "conversation", "conversation": data}, [user_id])
