"""Reading messages: id reservations, history pages, ranges for gap filling, /sync."""

from typing import Any

from django.utils.translation import gettext as _

from chat.actions.reactions import reactions_of
from chat.models import Message
from chat.representations import message_dict
from conversations.actions.access import access_membership
from conversations.models import Membership
from conversations.representations import direct_status
from imsite import snowflake
from imsite.errors import invalid
from imsite.inputs import read_int
from imsite.pagination import page_limit
from imsite.realtime.claims import claims
from imsite.shards import shard_alias


def do_reserve_ids(user_id: int, count: int) -> list[str]:
    """Snowflake ids bound to this user for 24 hours, as decimal strings."""
    ids = snowflake.next_ids(count)
    claims().reserve_ids(user_id, ids)
    return [str(i) for i in ids]


def _visible(membership: Membership):
    queryset = (Message.objects.using(shard_alias(membership.conversation.shard))
                .filter(conversation_id=membership.conversation_id, seq__gt=membership.visible_floor()))
    if membership.left_seq is not None:
        queryset = queryset.filter(seq__lte=membership.left_seq)
    return queryset


def _renderer(membership: Membership):
    """message_dict with `status` for the sender's own direct messages, and the reactions of the
    rows rendered (one query for all of them)."""
    peer: dict[str, Any] = {}
    if membership.conversation.kind == "direct":
        peer = Membership.objects.filter(conversation_id=membership.conversation_id).exclude(
            user_id=membership.user_id).values("read_seq", "delivered_seq", "delivered_extra").first() or {}

    def render(rows: list[Message]) -> list[dict[str, Any]]:
        reactions = reactions_of(rows)
        return [message_dict(message, reactions=reactions.get(message.msg_id), status=direct_status(
            message.seq, peer.get("read_seq", 0), peer.get("delivered_seq", 0), peer.get("delivered_extra", []))
            if peer and message.sender_id == membership.user_id else None) for message in rows]

    return render


def message_for(user_id: int, message: Message) -> dict[str, Any]:
    """One message as this member sees it (with its current `status` for the sender of a direct
    message: a repeated REST send answers with where the message is now, never an older status)."""
    return _renderer(access_membership(user_id, message.conversation_id))([message])[0]


def visible_range(user_id: int, conversation_id: str, after_seq: int, before_seq: int) -> list[dict[str, Any]]:
    """Messages strictly between two seqs that the user may see, ascending."""
    membership = access_membership(user_id, conversation_id)
    render = _renderer(membership)
    rows = _visible(membership).filter(seq__gt=after_seq, seq__lt=before_seq).order_by("seq")
    return render(list(rows))


def _seq_param(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    return read_int(raw, name, 0, strings=True)


def history_page(user_id: int, conversation_id: Any, params: Any) -> dict[str, Any]:
    """GET .../messages (docs/api.md section 3): after_seq pages forward, before_seq (or nothing)
    pages backward; results ascending; `next` is an opaque cursor or null."""
    from imsite.pagination import decode_cursor, encode_cursor

    membership = access_membership(user_id, conversation_id)
    limit = page_limit(params)
    after, before = _seq_param(params, "after_seq"), _seq_param(params, "before_seq")
    cursor = decode_cursor(params)
    if cursor is not None:
        if not (isinstance(cursor, list) and len(cursor) == 2 and cursor[0] in ("a", "b")
                and isinstance(cursor[1], int)):
            raise invalid({"cursor": [_("Not a cursor this server issued.")]})
        after, before = (cursor[1], None) if cursor[0] == "a" else (None, cursor[1])
    render = _renderer(membership)
    queryset = _visible(membership)
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(["a", rows[-1].seq]) if more else None
    else:
        if before is not None:
            queryset = queryset.filter(seq__lt=before)
        rows = list(queryset.order_by("-seq")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit][::-1]
        nxt = encode_cursor(["b", rows[0].seq]) if more else None
    return {"results": render(rows), "next": nxt}
