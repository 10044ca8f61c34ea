"""Driving the library's operations from an asyncio event loop, without blocking it or hopping threads.

Each event loop has one completion queue (:class:`lakelink._native.Queue`):
an operation starts on the library's threads and returns at once; the loop
watches the queue's descriptor (``loop.add_reader``) and, when calls
complete, resolves their futures; the awaiting task then collects the
answer. No thread of Python's waits.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Generic, NamedTuple, Optional, TypeVar

from .. import _native, _proto

T = TypeVar("T")


class Started(NamedTuple, Generic[T]):
    """A call started with :meth:`Completions.begin`, to await with :meth:`Completions.wait`."""

    op: _proto.Op[T]
    call: int
    fut: asyncio.Future[None]


#: How long (microseconds) a call is waited for on the loop's thread when the loop has nothing else to do
#: (no other call of ours in flight, no callback ready), before it goes back to the queue's descriptor: a
#: short statement's round trip, even on a busy machine, answered without the thread wake-ups the queue
#: costs (measured: 200 us missed half the round trips on a loaded 2-CPU machine, doubling their time).
#: The library looks for the answer for the first 100 us and sleeps for the rest (lakelink_call_wait).
#: The loop is never held longer, and a longer statement loses at most this much of the loop's time.
SPIN_US = 1000


class Completions:
    """An event loop's completion queue and the futures of its calls."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop: Callable[[], Optional[asyncio.AbstractEventLoop]]
        try:
            self.loop = weakref.ref(loop)  # weakly: the loop's entry in _by_loop must not keep it alive
        except TypeError:  # a loop type without weak references (kept in _kept)
            self.loop = lambda: loop
        self.queue = _native.Queue()
        self.waiting: dict[int, asyncio.Future[None]] = {}
        loop.add_reader(self.queue.fd, self._ready)

    def _ready(self) -> None:
        waiting = self.waiting
        for call in self.queue.take():
            fut = waiting.pop(call, None)
            if fut is not None and not fut.done():
                fut.set_result(None)

    def close(self) -> None:
        """Stops watching and closes the queue (its calls should all be collected)."""
        loop = self.loop()
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self.queue.fd)
        self.queue.close()

    def start(self, op: _proto.Op[Any]) -> tuple[int, asyncio.Future[None]]:
        """Starts op; returns its call and the future resolved when it completes."""
        return self._watch(op.start(self.queue.handle))

    def _watch(self, call: int) -> tuple[int, asyncio.Future[None]]:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[call] = fut
        return call, fut

    async def call(self, op: _proto.Op[T], cancel: Optional[_proto.Op[None]] = None) -> T:
        """Runs op and returns its answer.

        When the loop has nothing else to do (no other call of ours in flight, no callback ready), op is
        waited for on the loop's thread for up to SPIN_US first, and collected in the same crossing if it
        completed (a short statement): no wake-up of the loop, no future.

        If the awaiting task is cancelled, ``cancel`` (the statement's cancel request) starts, the call
        still completes (the session stays usable), what it opened is released, and CancelledError is
        raised, from the call's error when it failed (SQLSTATE 57014 for a cancelled statement).
        """
        if not self.waiting and not getattr(asyncio.get_running_loop(), "_ready", None):
            call, answer = op.start_wait(self.queue.handle, SPIN_US)
            if not call:
                result: T = answer
                return result
            return await self.wait(Started(op, *self._watch(call)), cancel)
        return await self.wait(self.begin(op), cancel)

    def begin(self, op: _proto.Op[T]) -> Started[T]:
        """Starts op, to be awaited later with :meth:`wait` (a batch read ahead)."""
        return Started(op, *self.start(op))

    async def wait(self, started: Started[T], cancel: Optional[_proto.Op[None]] = None) -> T:
        """The answer of a call started with :meth:`begin` (cancelled as :meth:`call`)."""
        op, call, fut = started
        if not fut.done():
            try:
                await fut
            except asyncio.CancelledError as cancelled:
                await self._settle(op, call, cancel, cancelled)
                raise
        return op.collect(call)

    async def _settle(self, op: _proto.Op[T], call: int, cancel: Optional[_proto.Op[None]],
                      cancelled: asyncio.CancelledError) -> None:
        """After the awaiting task was cancelled: cancel the statement, wait for the call (uncancellably)
        and release its answer; its error becomes cancelled's cause."""
        fut = self.waiting.get(call)  # None: it completed already
        if fut is not None and fut.cancelled():  # the task's cancellation cancelled the future it awaited
            fut = self.waiting[call] = asyncio.get_running_loop().create_future()
        stop: Optional[Started[None]] = None
        if cancel is not None and fut is not None:
            try:
                stop = self.begin(cancel)
            except Exception:
                pass  # the session is gone: the call ends on its own
        if fut is not None:
            await _uncancellable(fut)
        try:
            op.abandon(op.collect(call))
        except Exception as e:
            cancelled.__cause__ = e
        if stop is not None:
            await _uncancellable(stop.fut)
            try:
                stop.op.collect(stop.call)
            except Exception:
                pass  # too late: the statement had ended

    async def drive(self, gen: _proto.Gen[T], cancel: Optional[_proto.Op[None]] = None) -> T:
        """Drives a statement generator of _proto with asynchronous calls."""
        try:
            op = next(gen)
            while True:
                try:
                    value = await self.call(op, cancel)
                except Exception as e:
                    op = gen.throw(e)
                else:
                    op = gen.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result


async def _uncancellable(fut: asyncio.Future[None]) -> None:
    """Waits for fut even if the awaiting task is cancelled (again) meanwhile."""
    while not fut.done():
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            continue


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Completions]" = weakref.WeakKeyDictionary()
_kept: dict[int, tuple[asyncio.AbstractEventLoop, Completions]] = {}  # loops without weak references


def completions() -> Completions:
    """The running loop's completion queue (made on first use, closed with the loop)."""
    loop = asyncio.get_running_loop()
    try:
        c = _by_loop.get(loop)
    except TypeError:  # a loop type without weak references: its queue is kept with it for the process
        kept = _kept.get(id(loop))
        c = kept[1] if kept is not None and kept[0] is loop else None
        if c is None:
            c = Completions(loop)
            _kept[id(loop)] = (loop, c)
        return c
    if c is None:
        c = _by_loop[loop] = Completions(loop)
        weakref.finalize(loop, c.queue.close)
    return c
