"""One socket's frames, pipelined: a frame does not wait for the answers of the frames before it.

Two kinds of work, started in arrival order:
- *joined* work (a `send`, a `delivered`) joins its batch at once (imsite/batching.py) and the
  socket reads its next frame; only a serial frame before it is waited for;
- *serial* work (a `read`, a `recall`, `msg_ids`...) starts when everything before it finished, so
  a `read` never overtakes the sends before it, and a `send` after `msg_ids` finds its ids.

Answers are written in arrival order, each as soon as it and every answer before it are ready;
answers ready together are written together (one WebSocket message for a batch-mode client). So
per conversation the `ack`s come in the order of the sends, and a batch's answers cost one write.

Frames in flight (received, answer not yet written) are bounded per socket and per node: a
WebSocket message is taken up only when there is room (`receive`); until then it waits, in
order, in the socket's inbox, while pushes to the socket go on. Past the node's capacity the
excess waits there instead of in the batches, so admitted work keeps a bounded latency (Little's
law: in flight / throughput) and the node keeps completing work at its capacity.
"""

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Frame = dict[str, Any]
Joined = Callable[[], "asyncio.Future[list[Frame]]"]
Serial = Callable[[], Awaitable[list[Frame]]]
log = logging.getLogger(__name__)


class Admission:
    """The frames one node (one event loop) has in flight, against its limit. Waiting sockets are
    woken one per freed frame, in the order they began to wait."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def free(self) -> bool:
        return self.used < self.limit and not self._waiters

    async def room(self) -> None:
        while self.used >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken but gone: the wake-up goes to the next socket
                raise

    def take(self) -> None:
        self.used += 1

    def give(self, count: int = 1) -> None:
        self.used -= count
        for _ in range(count):
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


_admissions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admission]" = weakref.WeakKeyDictionary()


def node_admission(limit: int) -> Admission:
    """This loop's admission (one per node process; created on first use)."""
    return _admissions.setdefault(asyncio.get_running_loop(), Admission(limit))


class Pipeline:
    def __init__(self, write: Callable[[list[Frame]], Awaitable[None]],
                 failed: Callable[[BaseException], Awaitable[None]], *, limit: int, node: Admission) -> None:
        self._write = write
        self._failed = failed  # an answer that is an unexpected exception (the socket should close)
        self._limit = limit  # frames in flight on this socket before it stops reading
        self._node = node
        self._freed: asyncio.Future[None] | None = None  # set when this socket has room again
        self._inbox: deque[tuple[Any, Callable[[Any], None]]] = deque()  # messages waiting for room
        self._reader: asyncio.Task | None = None
        self._answers: deque[asyncio.Future[list[Frame]]] = deque()
        self._queued: deque[tuple[Joined | Serial, bool, asyncio.Future[list[Frame]]]] = deque()
        self._joined: list[asyncio.Future] = []  # joined work started since the last serial one
        self._runner: asyncio.Task | None = None
        self._writer: asyncio.Task | None = None
        self._closed = False

    def answer(self, frames: list[Frame]) -> None:
        """An answer known now (a refused frame), written in its place."""
        future = self._slot()
        future.set_result(frames)

    def joined(self, start: Joined) -> None:
        answer = self._slot()
        if self._runner is None:
            self._start(start, answer)
        else:
            self._queue(start, False, answer)

    def serial(self, run: Serial) -> None:
        self._queue(run, True, self._slot())

    def receive(self, message: Any, take: Callable[[Any], None]) -> None:
        """`take(message)` (which starts its frames) now if this socket and its node have room,
        else once they have, after the messages waiting before it. The limits are checked before
        a message, so an array of frames may go past them once."""
        if not self._inbox and len(self._answers) < self._limit and self._node.free():
            take(message)
            return
        self._inbox.append((message, take))
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while self._inbox:
                while len(self._answers) >= self._limit:
                    self._freed = asyncio.get_running_loop().create_future()
                    await self._freed
                await self._node.room()
                message, take = self._inbox.popleft()
                try:
                    take(message)
                except Exception:  # a bug in one message's handling: the next ones still count
                    log.exception("a received message failed")
        finally:
            self._reader = None

    async def drain(self, timeout: float) -> None:
        """The socket closed: nothing more is written, but the work already received runs to
        its end (at most `timeout` seconds), so that what the client sent counts; then `close`."""
        self._closed = True
        if self._writer is not None:
            self._writer.cancel()
        if self._reader is not None:
            self._reader.cancel()
        while self._inbox:  # received: it counts, room or not
            message, take = self._inbox.popleft()
            take(message)
        pending = [answer for answer in self._answers if not answer.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for answer in self._answers:  # unwritten; a failure among them is only logged
            if answer.done() and not answer.cancelled() and (exc := answer.exception()) is not None:
                log.warning("frame failed after its socket closed", exc_info=exc)
        self.close()

    def close(self) -> None:
        self._closed = True
        for task in (self._runner, self._writer, self._reader):
            if task is not None:
                task.cancel()
        self._inbox.clear()
        self._node.give(len(self._answers))  # unwritten answers no longer hold the node
        self._answers.clear()

    def _slot(self) -> "asyncio.Future[list[Frame]]":
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(self._wake)
        self._answers.append(future)
        self._node.take()
        return future

    def _pop(self) -> "asyncio.Future[list[Frame]]":
        future = self._answers.popleft()
        self._node.give()
        if self._freed is not None and not self._freed.done() and len(self._answers) < self._limit:
            self._freed.set_result(None)
        return future

    def _start(self, start: Joined, answer: "asyncio.Future[list[Frame]]") -> None:
        try:
            work = start()
        except Exception as exc:
            answer.set_exception(exc)
            return
        if len(self._joined) > 64:
            self._joined = [f for f in self._joined if not f.done()]
        self._joined.append(work)
        work.add_done_callback(lambda done: _copy(done, answer))

    def _queue(self, job: Joined | Serial, serial: bool, answer: "asyncio.Future[list[Frame]]") -> None:
        self._queued.append((job, serial, answer))
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._queued:
                job, serial, answer = self._queued.popleft()
                if not serial:
                    self._start(job, answer)  # type: ignore[arg-type]
                    continue
                if self._joined:
                    await asyncio.wait(self._joined)
                    self._joined.clear()
                try:
                    answer.set_result(await job())  # type: ignore[misc]
                except Exception as exc:
                    answer.set_exception(exc)
        finally:
            self._runner = None

    def _wake(self, _: asyncio.Future) -> None:
        if self._closed or (self._writer is not None and not self._writer.done()):
            return
        if self._answers and self._answers[0].done():
            self._writer = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._answers and self._answers[0].done():
            frames: list[Frame] = []
            while self._answers and self._answers[0].done():
                future = self._pop()
                if future.cancelled():
                    continue
                if (exc := future.exception()) is not None:
                    if frames:
                        await self._write(frames)
                    await self._failed(exc)
                    return
                frames.extend(future.result())
            if frames:
                await self._write(frames)


def _copy(source: asyncio.Future, target: asyncio.Future) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())
