"""Database work from the event loop, on a few threads, with connection checks that cost less
than the work.

Channels' `database_sync_to_async` runs Django's `close_old_connections()` before and after every
call: with health checks on (settings: CONN_HEALTH_CHECKS), that is a `SELECT 1` round trip per
database per call, as costly as a socket frame's own query. Here the check runs at most once a
second per thread, and at once after a database error, which is what it is for: dropping broken
or expired connections (a restarted PostgreSQL, CONN_MAX_AGE) before they are used.
"""

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import Error, close_old_connections

CHECK_EVERY = 1.0  # seconds between checks of one thread's connections
DB_THREADS = 4  # per process; each holds a connection per database it uses
_pool = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db")
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


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`await db(fn)(*args)`: fn on one of the process's database threads, checked as above.
    Several threads, each with its own connections, so that one socket's slow query (a connect's
    offline push, say) does not hold up every other socket of the node as Channels' single
    database thread does; one socket's calls still run one after the other (each is awaited)."""

    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()  # request ids and the like, as asgiref does
        return await asyncio.get_running_loop().run_in_executor(
            _pool, functools.partial(context.run, run_checked, fn, *args, **kwargs))

    return call
