"""Message search (contract section 3, docs/search.md): a case-insensitive substring of the
stored lower-cased `search_text`, only in the caller's active conversations and only within what
they may see there (after their join and clear points, up to where they left), never recalled
messages. Every shard is asked for its newest page; the pages are merged newest first by
(created_at, msg_id), which is also the cursor."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connections, models
from django.db.models import BooleanField, Func, Q
from django.db.models.expressions import RawSQL

from chat.actions.content import TEXT_MAX
from chat.models import Message
from chat.representations import direct_status, message_dict
from conversations.actions.access import access_membership
from conversations.models import Membership
from imsite.errors import invalid
from imsite.pagination import decode_cursor, encode_cursor, page_limit
from imsite.shards import shard_alias

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SearchGrams(Func):
    """im_search_grams(text) of chat/migrations/0003 (PostgreSQL only), GIN-indexed."""

    function = "im_search_grams"
    output_field = ArrayField(models.TextField())


def query_grams(needle: str) -> list[str]:
    """What every text containing `needle` has in im_search_grams: its pairs with a non-ASCII
    character (or the character itself, for a one-character needle)."""
    if len(needle) == 1:
        return [needle] if not needle.isascii() else []
    pairs = {needle[i:i + 2] for i in range(len(needle) - 1)}
    return sorted(p for p in pairs if not p.isascii())


def _scopes(user_id: int, conversation_id: Any) -> dict[int, tuple[list[str], Q]]:
    """Per shard: the conversations seen whole, and the condition for those seen in part (a join,
    clear or leave point)."""
    memberships = Membership.objects.filter(user_id=user_id, active=True)
    if conversation_id:
        memberships = memberships.filter(id=access_membership(user_id, conversation_id).id)
    scopes: dict[int, tuple[list[str], Q]] = {}
    for cid, shard, join_seq, clear_seq, left_seq in memberships.values_list(
            "conversation_id", "conversation__shard", "join_seq", "clear_seq", "left_seq"):
        whole, partial = scopes[shard] if shard in scopes else scopes.setdefault(shard, ([], Q()))
        floor = max(join_seq, clear_seq)
        if floor == 0 and left_seq is None:
            whole.append(cid)
            continue
        part = Q(conversation_id=cid, seq__gt=floor)
        if left_seq is not None:
            part &= Q(seq__lte=left_seq)
        scopes[shard] = (whole, partial | part)
    return scopes


def _among(ids: list[str], vendor: str) -> Q:
    """conversation_id among ids. On PostgreSQL one array value (= ANY, hashed by the executor):
    thousands of IN placeholders cost more to build and parse than the query costs to run."""
    if vendor == "postgresql":
        return Q(RawSQL('"chat_message"."conversation_id" = ANY(%s)', (ids,), output_field=BooleanField()))
    return Q(conversation_id__in=ids)


def _after(raw: Any) -> Q | None:
    if raw is None:
        return None
    if (isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
            and 0 <= raw[0] < 2**62 and 0 <= raw[1] < 2**63):
        at = EPOCH + timedelta(microseconds=raw[0])
        return Q(created_at__lt=at) | Q(created_at=at, msg_id__lt=raw[1])
    raise invalid({"cursor": ["Not a cursor this server issued."]})


def _render(user_id: int, rows: list[Message]) -> list[dict[str, Any]]:
    """message_dict, with `status` on the caller's own direct messages (one query for all)."""
    own_direct = {m.conversation_id for m in rows if m.sender_id == user_id and m.conversation_id.startswith("d_")}
    peers = {row["conversation_id"]: row for row in Membership.objects.filter(conversation_id__in=own_direct)
             .exclude(user_id=user_id).values("conversation_id", "read_seq", "delivered_seq", "delivered_extra")}
    results = []
    for m in rows:
        peer = peers.get(m.conversation_id) if m.sender_id == user_id else None
        status = peer and direct_status(m.seq, peer["read_seq"], peer["delivered_seq"], peer["delivered_extra"])
        results.append(message_dict(m, status=status))
    return results


def search_messages(user_id: int, params: Any) -> dict[str, Any]:
    raw = params.get("q")
    needle = raw.strip().lower() if isinstance(raw, str) else ""
    if not needle:
        raise invalid({"q": ["At least one character."]})
    limit = page_limit(params)
    after = _after(decode_cursor(params))
    scopes = _scopes(user_id, params.get("conversation_id"))
    # No stored text is longer than a message, nor holds NUL (which PostgreSQL text refuses).
    if len(needle) > TEXT_MAX or "\x00" in needle:
        return {"results": [], "next": None}
    grams = query_grams(needle)
    rows: list[Message] = []
    for shard, (whole, partial) in sorted(scopes.items()):
        alias = shard_alias(shard)
        vendor = connections[alias].vendor
        scope = partial | _among(whole, vendor) if whole else partial
        queryset = Message.objects.using(alias).filter(scope, recalled=False, search_text__contains=needle)
        if grams and vendor == "postgresql":
            queryset = queryset.alias(grams=SearchGrams("search_text")).filter(grams__contains=grams)
        if after is not None:
            queryset = queryset.filter(after)
        rows.extend(queryset.order_by("-created_at", "-msg_id")[: limit + 1])
    rows.sort(key=lambda m: (m.created_at, m.msg_id), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more:
        last = rows[-1]
        nxt = encode_cursor([(last.created_at - EPOCH) // timedelta(microseconds=1), last.msg_id])
    return {"results": _render(user_id, rows), "next": nxt}
