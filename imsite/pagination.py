"""Paging of list endpoints (docs/api.md section 0): `?limit=` (default 50, at most 200) and an opaque
`cursor` that continues the same query."""

import base64
import binascii
import json
from typing import Any

from django.utils.translation import gettext as _

from imsite.errors import invalid
from imsite.inputs import read_int

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_limit(params: Any, default: int = DEFAULT_LIMIT) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    return min(read_int(raw, "limit", 1, strings=True), MAX_LIMIT)


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(params: Any) -> Any:
    """The position carried by `cursor`, or None when absent. A malformed cursor is `invalid`."""
    raw = params.get("cursor")
    if not raw:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        raise invalid({"cursor": [_("Not a cursor this server issued.")]}) from None


def page(results: list, next_position: Any) -> dict[str, Any]:
    return {"results": results, "next": encode_cursor(next_position) if next_position is not None else None}


def page_by_id(queryset: Any, params: Any, render: Any, *, descending: bool = True) -> dict[str, Any]:
    """Keyset paging over a queryset ordered by id (descending by default)."""
    limit = page_limit(params)
    after = decode_cursor(params)
    if after is not None:
        if not isinstance(after, int):
            raise invalid({"cursor": [_("Not a cursor this server issued.")]})
        queryset = queryset.filter(id__lt=after) if descending else queryset.filter(id__gt=after)
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return page([render(row) for row in rows], rows[-1].id if more else None)
