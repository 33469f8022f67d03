"""Database work from the event loop, on a few long-lived threads that keep their connections,
with connection checks that cost less than the work.

Channels' `database_sync_to_async` runs Django's `close_old_connections()` before and after every
call, which with CONN_MAX_AGE 0 (settings: right for request threads) would open a connection per
call. These threads keep theirs for good and check them at most once a second, and at once after
a database error, which is what the check is for: a connection that no longer answers (a
restarted PostgreSQL, a dropped socket) is closed and reopened on its next use.
"""

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import Error, connections

CHECK_EVERY = 1.0  # seconds between checks of one thread's connections
DB_THREADS = 4  # per process; each holds a connection per database it uses
_pool = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db")
_thread = threading.local()


def run_checked(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on this thread's connections, checked first when due."""
    now = time.monotonic()
    if getattr(_thread, "failed", True) or now - getattr(_thread, "checked", 0.0) > CHECK_EVERY:
        _close_broken()
        _thread.checked, _thread.failed = now, False
    try:
        return fn(*args, **kwargs)
    except Error:
        _thread.failed = True
        raise


def _close_broken() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()


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
