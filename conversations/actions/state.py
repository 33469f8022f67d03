"""A user's own view of a conversation: the list, pin/hide/mute, delete (clear for the caller
only), and /sync. Each change reaches the user's other devices as a `conversation` frame."""

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations.actions.access import access_membership
from conversations.models import Membership
from conversations.representations import (
    conversation_dict,
    load_conversation_dict,
    with_list_data,
)
from imsite.errors import invalid
from imsite.events import send_event
from imsite.pagination import decode_cursor, encode_cursor, page_limit

FLAGS = ("pinned", "hidden", "muted")


def conversation_list(user_id: int, params: Any) -> dict[str, Any]:
    """Pinned first, then by last activity, newest first; hidden and deleted left out. Keyset
    paging on (pinned, activity, id), all rows of a page in one query."""
    limit = page_limit(params)
    queryset = with_list_data(Membership.objects.filter(user_id=user_id, active=True, hidden=False, deleted=False)
                              ).annotate(activity=F("conversation__last_message_at"))
    queryset = queryset.order_by("-pinned", F("conversation__last_message_at").desc(nulls_last=True),
                                 "-conversation__created_at", "-conversation_id")
    position = decode_cursor(params)
    rows = list(queryset)
    if position is not None:
        if not isinstance(position, str):
            raise invalid({"cursor": ["Not a cursor this server issued."]})
        ids = [m.conversation_id for m in rows]
        start = ids.index(position) + 1 if position in ids else len(ids)
        rows = rows[start:]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"results": [conversation_dict(m) for m in rows],
            "next": encode_cursor(rows[-1].conversation_id) if more else None}


def do_update_flags(user_id: int, conversation_id: Any, changes: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for key in FLAGS:
        if key in changes:
            if not isinstance(changes[key], bool):
                raise invalid({key: ["Must be true or false."]})
            values[key] = changes[key]
    with transaction.atomic():
        membership = access_membership(user_id, conversation_id, lock=True)
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
        membership = access_membership(user_id, conversation_id, lock=True)
        last = membership.conversation.last_seq
        Membership.objects.filter(id=membership.id).update(
            deleted=True, pinned=False, clear_seq=max(membership.clear_seq, last),
            read_seq=max(membership.read_seq, last), delivered_seq=max(membership.delivered_seq, last),
            delivered_extra=[s for s in membership.delivered_extra if s > last], updated_at=timezone.now())
        data = load_conversation_dict(user_id, membership.conversation_id)
        send_event({"type": "conversation", "conversation": data}, [user_id])


def _parse_token(token: str | None) -> datetime | None:
    if not token:
        return None
    try:
        return datetime.fromtimestamp(int(token) / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise invalid({"since": ["Not a token this server issued."]}) from None


def sync(user_id: int, token: str | None) -> dict[str, Any]:
    """Conversations changed since `token` (all when absent), deleted ones included (flagged), and
    a new token. The token is a server time; a small overlap repeats rather than misses."""
    since = _parse_token(token)
    now = timezone.now()
    queryset = Membership.objects.filter(user_id=user_id).exclude(active=False, left_seq__isnull=True)
    if since is not None:
        overlap = since - timezone.timedelta(seconds=2)
        queryset = queryset.filter(Q(updated_at__gte=overlap) | Q(conversation__updated_at__gte=overlap))
    rows = list(with_list_data(queryset).order_by("conversation_id"))
    return {"conversations": [conversation_dict(m) for m in rows], "token": str(int(now.timestamp() * 1_000_000))}
