"""Conversations on the wire (docs/api.md section 3)."""

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from accounts.representations import avatar_url, user_dict
from conversations import hooks
from conversations.models import Membership
from imsite.timefmt import iso


def direct_status(seq: int, peer_read_seq: int, peer_delivered_seq: int, peer_delivered_extra: list[int]) -> str:
    """The sender's view of one direct message, from the peer's cursors (never goes back)."""
    if seq <= peer_read_seq:
        return "read"
    if seq <= peer_delivered_seq or seq in peer_delivered_extra:
        return "delivered"
    return "sent"


def with_list_data(queryset: QuerySet[Membership]) -> QuerySet[Membership]:
    """Everything a conversation row shows, fetched in the same query (no query per row)."""
    peer = Membership.objects.filter(conversation_id=OuterRef("conversation_id"), user_id=OuterRef("peer_id"))
    members = (Membership.objects.filter(conversation_id=OuterRef("conversation_id"), active=True)
               .order_by().values("conversation_id").annotate(n=Count("id")).values("n"))
    return queryset.select_related("conversation", "peer", "conversation__group").annotate(
        peer_read_seq=Subquery(peer.values("read_seq")[:1]),
        peer_delivered_seq=Subquery(peer.values("delivered_seq")[:1]),
        peer_delivered_extra=Subquery(peer.values("delivered_extra")[:1]),
        member_count=Subquery(members),
        unread_mentions=hooks.unread_mentions(),
    )


def _last_message(m: Membership) -> dict[str, Any] | None:
    snapshot = m.conversation.last_message
    if not snapshot:
        return None
    if snapshot["seq"] <= m.visible_floor() or (m.left_seq is not None and snapshot["seq"] > m.left_seq):
        return None
    data = dict(snapshot)
    if m.conversation.kind == "direct" and data["sender_id"] == m.user_id:
        data["status"] = direct_status(data["seq"], getattr(m, "peer_read_seq", None) or 0,
                                       getattr(m, "peer_delivered_seq", None) or 0,
                                       getattr(m, "peer_delivered_extra", None) or [])
    return data


def conversation_dict(m: Membership) -> dict[str, Any]:
    conversation = m.conversation
    last_seq = conversation.last_seq if m.left_seq is None else min(conversation.last_seq, m.left_seq)
    data: dict[str, Any] = {
        "id": conversation.id,
        "type": conversation.kind,
        "pinned": m.pinned,
        "hidden": m.hidden,
        "muted": m.muted,
        "deleted": m.deleted,
        "unread_count": m.unread_count(conversation.last_seq),
        "unread_mentions": getattr(m, "unread_mentions", 0),
        "last_message": _last_message(m),
        "last_seq": last_seq,
        "read_seq": max(m.read_seq, m.visible_floor()),
        "updated_at": iso(conversation.last_message_at or conversation.created_at),
    }
    if conversation.kind == "direct":
        data["peer"] = user_dict(m.peer)
        data["peer_read_seq"] = getattr(m, "peer_read_seq", None) or 0
    else:
        group = conversation.group
        data["group"] = {
            "id": group.id,
            "name": group.name,
            "avatar_url": avatar_url(group.avatar_id),
            "member_count": getattr(m, "member_count", None) or 0,
            "dissolved": group.dissolved,
        }
    return data


def load_conversation_dict(user_id: int, conversation_id: str) -> dict[str, Any]:
    return conversation_dict(with_list_data(Membership.objects.filter(user_id=user_id,
                                                                      conversation_id=conversation_id)).get())
