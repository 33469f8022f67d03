"""NUL characters: valid in JSON, refused by PostgreSQL in text and jsonb. Bodies and frames that
carry one are refused up front (400 `invalid` / `invalid_frame`) instead of failing in the
database after validation."""

from typing import Any


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False
