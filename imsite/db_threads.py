"""Database work from the event loop, with connection checks that cost less than the work.

Channels' `database_sync_to_async` runs Django's `close_old_connections()` before and after every
call: with health checks on (settings: CONN_HEALTH_CHECKS), that is a `SELECT 1` round trip per
database per call, as costly as a socket frame's own query. Here the check runs at most once a
second per thread, and at once after a database error, which is what it is for: dropping broken
or expired connections (a restarted PostgreSQL, CONN_MAX_AGE) before they are used.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import Error, close_old_connections

CHECK_EVERY = 1.0  # seconds between checks of one thread's connections
_thread = threading.local()


def run_checked(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on this thread's connections, checked first when due."""
    now = time.monotonic()
    if getattr(_thread, "failed", True) or now - getattr(_thread, "checked", 0.0) > CHECK_EVERY:
        close_old_connections()
        _thread.checked, _thread.failed = now, False
    try:
        return fn(*args, **kwargs)
    except Error:
        _thread.failed = True
        raise


class CheckedSyncToAsync(SyncToAsync):
    """`database_sync_to_async` (the same single database thread per process), checked as above."""

    def thread_handler(self, loop, exc_info, task_context, func, *args, **kwargs):  # noqa: ANN001
        return super().thread_handler(loop, exc_info, task_context, run_checked, func, *args, **kwargs)


db = CheckedSyncToAsync
