from datetime import UTC, datetime


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with exactly three fraction digits and a Z (docs/api.md section 0)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
