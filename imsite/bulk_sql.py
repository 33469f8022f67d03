"""One UPDATE for many rows, each with its own values: `WITH v(...) AS (VALUES ...) UPDATE ... FROM v`.

The hot batches (imsite/batching.py) move hundreds of rows a time; the ORM's per-row
Case/When expressions cost more than the database work there. This writes the statement directly,
on PostgreSQL and on SQLite (3.33+: UPDATE ... FROM), with the column types each needs.
"""

from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connections

# Column kinds -> (PostgreSQL cast, SQLite cast); None: the parameter as it is.
_CASTS = {
    "bigint": ("bigint", "INTEGER"),
    "text": ("text", "TEXT"),
    "json": ("jsonb", None),
    "timestamp": ("timestamptz", None),
}


def update_from_values(using: str, table: str, columns: dict[str, str], rows: Sequence[Sequence[Any]],
                       assignments: str, condition: str, extra_params: Sequence[Any] = ()) -> int:
    """UPDATE `table` SET `assignments` FROM v WHERE `condition`, where v has `columns` (name ->
    kind) and one row per `rows` entry. `assignments` may hold placeholders, filled from
    `extra_params`. Returns the number of rows updated."""
    if not rows:
        return 0
    connection = connections[using]
    vendor = 0 if connection.vendor == "postgresql" else 1
    cells, params = [], []
    for kind in columns.values():
        cast = _CASTS[kind][vendor]
        cells.append(f"CAST(%s AS {cast})" if cast else "%s")
    for row in rows:
        for value, kind in zip(row, columns.values(), strict=True):
            if kind == "json":
                value = orjson.dumps(value).decode()
            elif kind == "timestamp":
                value = connection.ops.adapt_datetimefield_value(value)
            params.append(value)
    values = ", ".join(["(" + ", ".join(cells) + ")"] * len(rows))
    sql = (f"WITH v ({', '.join(columns)}) AS (VALUES {values}) "
           f"UPDATE {table} SET {assignments} FROM v WHERE {condition}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *extra_params])
        return cursor.rowcount
