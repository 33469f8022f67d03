"""Group commit for the socket's hot actions.

A socket's `send` or `delivered` frame is not run on its own: it joins the batch of its kind, and
everything that arrives while a batch is being stored goes into the next one. A batch is one
call of a batch action (`check_send_messages`, `do_device_acks`) on the batcher's own thread: one
transaction per database, one Redis pipeline, whatever the batch size. An idle node runs a frame
at once (a batch of one); a busy one amortises each round trip and each commit over the batch.

Each kind has its own thread (so its own database connections), process-wide; the batch being
filled and the task draining it belong to the event loop that submitted them.
"""

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from imsite.db_threads import run_checked

Item = TypeVar("Item")
log = logging.getLogger(__name__)
MAX_BATCH = 500
_running = threading.local()  # the batch being run on this thread: its work for after the answers


def after_answers(work: Callable[[], None]) -> None:
    """Run `work` once the answers of the running batch are out (e.g. what the `ack` does not
    depend on); outside a batch (REST, tasks), now."""
    later = getattr(_running, "later", None)
    if later is None:
        work()
    else:
        later.append(work)


class Batcher(Generic[Item]):
    def __init__(self, name: str, handle: Callable[[Sequence[Item]], list[Any]], executor: ThreadPoolExecutor) -> None:
        self.name = name
        self.handle = handle
        self.executor = executor
        self.waiting: list[tuple[Item, asyncio.Future | None]] = []
        self.task: asyncio.Task | None = None

    async def submit(self, item: Item) -> Any:
        """Run `item` in the next batch; its own result, or its own exception raised here."""
        return await self.start(item)

    def start(self, item: Item) -> asyncio.Future:
        """Put `item` in the next batch without waiting: the future of its own result or exception
        (a pipelined socket reads its next frame meanwhile)."""
        future = asyncio.get_running_loop().create_future()
        self._add(item, future)
        return future

    def submit_nowait(self, item: Item) -> None:
        """Run `item` in the next batch, nobody waiting (a failure is logged)."""
        self._add(item, None)

    def _add(self, item: Item, future: asyncio.Future | None) -> None:
        self.waiting.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            items = [item for item, _ in batch]
            later: list[Callable[[], None]] = []
            try:
                results = await loop.run_in_executor(self.executor, self._run, items, later)
            except Exception as exc:  # the whole batch failed (a database or Redis outage)
                results = [exc] * len(items)
            for (_, future), result in zip(batch, results, strict=True):
                if future is None:
                    if isinstance(result, Exception) and not getattr(result, "code", None):
                        log.error("%s batch item failed", self.name, exc_info=result)
                elif not future.done():  # done: the waiting socket went away
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
            if later:
                await loop.run_in_executor(self.executor, _run_later, later)

    def _run(self, items: list[Item], later: list[Callable[[], None]]) -> list[Any]:
        _running.later = later
        try:
            return run_checked(self.handle, items)
        finally:
            _running.later = None


def _run_later(later: list[Callable[[], None]]) -> None:
    for work in later:
        try:
            run_checked(work)
        except Exception:
            log.exception("work after a batch's answers failed")


_executors: dict[str, ThreadPoolExecutor] = {}
_per_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Batcher]]" = weakref.WeakKeyDictionary()


def batcher(name: str, handle: Callable[[Sequence[Item]], list[Any]]) -> Batcher[Item]:
    """This loop's batcher of that name (created on first use)."""
    loop = asyncio.get_running_loop()
    mine = _per_loop.setdefault(loop, {})
    if name not in mine:
        if name not in _executors:
            _executors[name] = ThreadPoolExecutor(1, thread_name_prefix=f"batch-{name}")
        mine[name] = Batcher(name, handle, _executors[name])
    return mine[name]
