"""/sync: the caller's conversations that changed after a token (docs/api.md section 3; the
design is in docs/sync.md).

Every insert and update of a conversation or membership row is stamped by a database trigger
with a change mark (conversations/migrations/0002_change_marks.py): on PostgreSQL the writing
transaction's id, on SQLite the next value of a counter that writers take in turn. A token is the
database's snapshot taken in the same transaction as the rows it answers with: the marks it had
seen committed (below xmin, or below xmax and not in progress). The next call lists every row
whose mark, its conversation's, or (direct conversations) its peer's membership mark, that
snapshot had not seen: exact under any commit order and on any node, with no clock and no lock.

Tokens of the previous release (a server time in microseconds) still work: they list the rows
whose updated_at is at most two seconds before it, as before.
"""

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from conversations.models import Membership
from conversations.representations import conversation_dict, with_list_data
from imsite.errors import invalid

TOKEN = re.compile(r"m(\d{1,19}):(\d{1,19}):(\d{1,19}(?:,\d{1,19})*)?")
LEGACY_OVERLAP = timedelta(seconds=2)


@dataclass(frozen=True)
class Snapshot:
    """Which change marks had committed when it was taken (PostgreSQL's pg_snapshot)."""

    xmin: int
    xmax: int
    xip: frozenset[int]

    def saw(self, mark: int) -> bool:
        return mark < self.xmin or (mark < self.xmax and mark not in self.xip)

    def token(self) -> str:
        return f"m{self.xmin}:{self.xmax}:{','.join(map(str, sorted(self.xip)))}"


def _parse_token(token: str | None) -> Snapshot | datetime | None:
    if not token:
        return None
    if match := TOKEN.fullmatch(token):
        xmin, xmax = int(match[1]), int(match[2])
        xip = frozenset(int(x) for x in match[3].split(",")) if match[3] else frozenset()
        if xmin <= xmax and all(xmin <= x < xmax for x in xip):
            return Snapshot(xmin, xmax, xip)
    elif token.isascii() and token.isdigit():  # a time token of the previous release
        try:
            return datetime.fromtimestamp(int(token) / 1_000_000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    raise invalid({"since": [_("Not a token this server issued.")]})


@contextlib.contextmanager
def _one_snapshot() -> Iterator[None]:
    """The token and the rows from one snapshot. PostgreSQL: a REPEATABLE READ transaction (inside
    an enclosing transaction, whose isolation is set already, the token is taken before the rows,
    so a change committed in between is listed now and again next time, never missed). SQLite:
    Django's IMMEDIATE transaction, which writers wait for."""
    nested = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _take_snapshot() -> Snapshot:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_current_snapshot()::text")
            xmin, xmax, xip = cursor.fetchone()[0].split(":")
            return Snapshot(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))
        cursor.execute("SELECT value FROM conversations_change_clock WHERE id = 1")
        after = cursor.fetchone()[0] + 1
        return Snapshot(after, after, frozenset())


def sync(user_id: int, token: str | None) -> dict[str, Any]:
    """Conversations changed after `token` (all when absent), deleted ones included (flagged),
    and the token to pass next time."""
    since = _parse_token(token)
    queryset = Membership.objects.filter(user_id=user_id).exclude(active=False, left_seq__isnull=True)
    with _one_snapshot():
        now = _take_snapshot()
        if isinstance(since, Snapshot):
            # The peer's cursors show in a direct conversation (peer_read_seq, the status of the
            # last message). Marks below xmin were seen by any snapshot: SQL leaves them out.
            peer = Membership.objects.filter(conversation_id=OuterRef("conversation_id"), user_id=OuterRef("peer_id"))
            queryset = queryset.annotate(peer_mark=Subquery(peer.values("change_mark")[:1])).filter(
                Q(change_mark__gte=since.xmin) | Q(conversation__change_mark__gte=since.xmin)
                | Q(peer_mark__gte=since.xmin))
        elif isinstance(since, datetime):
            overlap = since - LEGACY_OVERLAP
            queryset = queryset.filter(Q(updated_at__gte=overlap) | Q(conversation__updated_at__gte=overlap))
        rows = list(with_list_data(queryset).order_by("conversation_id"))
    if isinstance(since, Snapshot):
        rows = [m for m in rows if not (since.saw(m.change_mark) and since.saw(m.conversation.change_mark)
                                        and since.saw(m.peer_mark or 0))]
    return {"conversations": [conversation_dict(m) for m in rows], "token": now.token()}
