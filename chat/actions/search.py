"""Message search (docs/api.md section 3, docs/search.md): a case-insensitive substring of the
stored lower-cased `search_text`, only in the caller's active conversations and only within what
they may see there (after their join and clear points, up to where they left), never recalled
messages. Every shard is asked for its newest page; the pages are merged newest first by
(created_at, msg_id), which is also the cursor."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connections, models, transaction
from django.db.models import Aggregate, BooleanField, Func, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, Greatest
from django.utils.translation import gettext as _

from chat.actions.content import TEXT_MAX
from chat.actions.reactions import reactions_of
from chat.models import Message
from chat.representations import message_dict
from conversations.actions.access import access_membership
from conversations.models import Membership
from conversations.representations import direct_status
from imsite.errors import invalid
from imsite.pagination import decode_cursor, encode_cursor, page_limit
from imsite.shards import shard_alias

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SEQ = 2**63 - 1  # the top of a range with no leave point


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


class _Joined(Aggregate):
    """The group's values in one comma-separated text (string_agg; group_concat on SQLite): a
    user's visible conversations are thousands of ids, and one string costs no per-row work in
    Python."""

    function = "string_agg"
    output_field = TextField()

    def __init__(self, expression: Any, **extra: Any) -> None:
        super().__init__(expression, Value(","), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="group_concat", **extra)


@dataclass
class _Scope:
    """What the caller may see on one shard: the conversations seen whole (comma-separated ids),
    and (id, floor, top) of those seen in part (a join, clear or leave point)."""

    whole: str
    partial: list[tuple[str, int, int]]

    def condition(self, vendor: str) -> Q:
        if vendor == "postgresql":
            return self._postgres()
        visible = Q(conversation_id__in=self.whole.split(",") if self.whole else [])
        for cid, floor, top in self.partial:
            visible |= Q(conversation_id=cid, seq__gt=floor, seq__lte=top)
        return visible

    def _postgres(self) -> Q:
        """One hashed `= ANY` over every visible conversation (its estimate lets the planner pick
        between the GIN indexes and the newest-first walk), then the seq range of the few seen in
        part. Arrays go as literals: psycopg quotes a list element by element (8 ms for 2,500
        ids), and a long OR of (id, seq) terms costs milliseconds to plan. Conversation ids are
        [a-z0-9_] (conversations.models), so no element needs quoting."""
        cids, floors, tops = zip(*self.partial, strict=True) if self.partial else ((), (), ())
        sql = '"chat_message"."conversation_id" = ANY(%s::text[])'
        params = [_array([self.whole, *cids] if self.whole else cids)]
        if self.partial:
            sql += (' AND ("chat_message"."conversation_id" <> ALL(%s::text[]) OR EXISTS (SELECT FROM '
                    'unnest(%s::text[], %s::bigint[], %s::bigint[]) AS p(id, floor, top) WHERE '
                    'p.id = "chat_message"."conversation_id" AND "chat_message"."seq" > p.floor '
                    'AND "chat_message"."seq" <= p.top))')
            params += [_array(cids), _array(cids), _array(floors), _array(tops)]
        return Q(RawSQL(sql, params, output_field=BooleanField()))


def _array(values: Sequence[str | int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _scopes(user_id: int, conversation_id: Any) -> dict[int, _Scope]:
    """Per shard, aggregated by the main database into one row."""
    memberships = Membership.objects.filter(user_id=user_id, active=True)
    if conversation_id:
        memberships = memberships.filter(id=access_membership(user_id, conversation_id).id)
    floor, top = Greatest("join_seq", "clear_seq"), Coalesce("left_seq", Value(MAX_SEQ))
    whole = Q(join_seq=0, clear_seq=0, left_seq__isnull=True)
    rows = memberships.order_by().values("conversation__shard").annotate(
        whole=_Joined("conversation_id", filter=whole),
        partial=_Joined(Concat("conversation_id", Value(":"), floor, Value(":"), top, output_field=TextField()),
                        filter=~whole))
    scopes: dict[int, _Scope] = {}
    for row in rows:  # the whole ones stay one string; the partial ones are few ("id:floor:top")
        partial = [part.split(":") for part in row["partial"].split(",")] if row["partial"] else []
        scopes[row["conversation__shard"]] = _Scope(row["whole"] or "", [
            (cid, int(lo), int(hi)) for cid, lo, hi in partial])
    return scopes


def _after(raw: Any) -> Q | None:
    if raw is None:
        return None
    if (isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
            and 0 <= raw[0] < 2**62 and 0 <= raw[1] < 2**63):
        at = EPOCH + timedelta(microseconds=raw[0])
        return Q(created_at__lt=at) | Q(created_at=at, msg_id__lt=raw[1])
    raise invalid({"cursor": [_("Not a cursor this server issued.")]})


def _render(user_id: int, rows: list[Message]) -> list[dict[str, Any]]:
    """message_dict, with `status` on the caller's own direct messages (one query for all)."""
    own_direct = {m.conversation_id for m in rows if m.sender_id == user_id and m.conversation_id.startswith("d_")}
    peers = {row["conversation_id"]: row for row in Membership.objects.filter(conversation_id__in=own_direct)
             .exclude(user_id=user_id).values("conversation_id", "read_seq", "delivered_seq", "delivered_extra")}
    reactions = reactions_of(rows)
    results = []
    for m in rows:
        peer = peers.get(m.conversation_id) if m.sender_id == user_id else None
        status = peer and direct_status(m.seq, peer["read_seq"], peer["delivered_seq"], peer["delivered_extra"])
        results.append(message_dict(m, status=status, reactions=reactions.get(m.msg_id)))
    return results


def _serially(queryset: QuerySet[Message], alias: str) -> list[Message]:
    """With the gram condition, the planner's estimate of matches for a common term is low (the
    LIKE and the gram condition are counted as independent), so it starts parallel workers for the
    newest-first walk, and their start-up (12-27 ms on this 2-core machine) costs more than the
    walk itself (2-5 ms). Without it the estimate holds and the transaction's round trips are
    saved."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return list(queryset)


def search_messages(user_id: int, params: Any) -> dict[str, Any]:
    raw = params.get("q")
    needle = raw.strip().lower() if isinstance(raw, str) else ""
    if not needle:
        raise invalid({"q": [_("At least one character.")]})
    limit = page_limit(params)
    after = _after(decode_cursor(params))
    scopes = _scopes(user_id, params.get("conversation_id"))
    # No stored text is longer than a message, nor holds NUL (which PostgreSQL text refuses).
    if len(needle) > TEXT_MAX or "\x00" in needle:
        return {"results": [], "next": None}
    grams = query_grams(needle)
    rows: list[Message] = []
    for shard, scope in sorted(scopes.items()):
        alias = shard_alias(shard)
        vendor = connections[alias].vendor
        queryset = Message.objects.using(alias).filter(scope.condition(vendor), recalled=False,
                                                       search_text__contains=needle)
        with_grams = bool(grams) and vendor == "postgresql"
        if with_grams:
            queryset = queryset.alias(grams=SearchGrams("search_text")).filter(grams__contains=grams)
        if after is not None:
            queryset = queryset.filter(after)
        page = queryset.order_by("-created_at", "-msg_id")[: limit + 1]
        rows.extend(_serially(page, alias) if with_grams else page)
    rows.sort(key=lambda m: (m.created_at, m.msg_id), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more:
        last = rows[-1]
        nxt = encode_cursor([(last.created_at - EPOCH) // timedelta(microseconds=1), last.msg_id])
    return {"results": _render(user_id, rows), "next": nxt}
