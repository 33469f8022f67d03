"""One way to read ids and other scalar inputs: REST bodies, paths and query strings, socket
frames and task arguments alike (docs/api.md section 0).

The rule: an id is a positive integer that fits PostgreSQL's bigint. In JSON (bodies, frames,
task arguments) it is a JSON integer; in a path or a query string, and for a `msg_id` (a decimal
string by the contract), it is a string of ASCII digits. A boolean is never an integer (JSON
`true` is not user 1), a float never an id or a count (`1.5` and `1.0` are refused, not rounded),
and nothing out of range reaches a query (a huge number is refused, not a database error).

`as_*` answer None for a value that is not one, for callers whose refusal is their own (a path id
that names nothing is `not_found`); `read_*` raise the refusal with its code, the field it is
about, and a message.
"""

import math
from typing import Any

from django.utils.translation import gettext as _

from imsite.errors import ImError

MAX_ID = 2**63 - 1  # bigint


def _text_int(raw: str) -> int | None:
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    return int(raw)


def as_int(raw: Any, minimum: int, maximum: int, *, strings: bool = False) -> int | None:
    """An integer in [minimum, maximum]: a JSON integer, or (with `strings`) ASCII digits with an
    optional minus sign; None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value: int | None = raw
    elif strings and isinstance(raw, str):
        value = _text_int(raw)
    else:
        return None
    return value if value is not None and minimum <= value <= maximum else None


def as_id(raw: Any, *, strings: bool = False) -> int | None:
    """A positive bigint id (see the module's rule); None for anything else."""
    return as_int(raw, 1, MAX_ID, strings=strings)


def as_number(raw: Any, minimum: float, maximum: float) -> float | None:
    """A finite JSON number (integer or float, not a boolean) in [minimum, maximum]."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    value = float(raw)
    return value if math.isfinite(value) and minimum <= value <= maximum else None


def refusal(code: str, field: str, message: str) -> ImError:
    return ImError(code, message, {field: [message]})


def read_id(raw: Any, field: str, *, strings: bool = False, code: str = "invalid", message: str | None = None) -> int:
    value = as_id(raw, strings=strings)
    if value is None:
        raise refusal(code, field, message or _("Must be an id (a positive integer)."))
    return value


def read_int(raw: Any, field: str, minimum: int, maximum: int = MAX_ID, *, strings: bool = False,
             code: str = "invalid", message: str | None = None) -> int:
    value = as_int(raw, minimum, maximum, strings=strings)
    if value is None:
        raise refusal(code, field, message or _("Must be an integer from %(minimum)d to %(maximum)d.")
                      % {"minimum": minimum, "maximum": maximum})
    return value
