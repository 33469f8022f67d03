"""Ops-test helpers: child processes that run this project against the test databases."""

import os
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def database_url(alias: str, name: str | None = None) -> str:
    """A DATABASE_URL for the test database of `alias` (as pytest-django named it), or for
    another database `name` on the same server."""
    db = settings.DATABASES[alias]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{name or db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process on the same test databases and Redis database."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url("default"),
        "IM_MESSAGE_SHARDS": ",".join(database_url(alias) for alias in settings.MESSAGE_SHARDS),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    })
    env.update(overrides)
    return env


PYTHON = sys.executable
