"""The embedded default's stand-in for Celery beat: one asyncio task per process that runs the
same sweeps every second (push retries, the call ring timeout)."""

import asyncio
import logging

from channels.db import database_sync_to_async

from chat.actions.calls import expire_ringing_calls
from chat.actions.delivery import sweep_pending_acks

log = logging.getLogger(__name__)
_task: asyncio.Task | None = None


async def _loop() -> None:
    while True:
        for sweep in (sweep_pending_acks, expire_ringing_calls):
            try:
                await database_sync_to_async(sweep)()
            except Exception:
                log.exception("%s failed", sweep.__name__)
        await asyncio.sleep(1.0)


def ensure_running() -> None:
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_loop())
