"""Asynchronous pools of Lakebase sessions, in psycopg_pool's AsyncConnectionPool shape, over the core's pool.

The core keeps the sessions (how many, when one opens, idle expiry and recycling, the App users'). What the
pool keeps is for the event loop: a ``getconn`` of the pool's own identity that finds all its sessions held
waits here, and a session given back as it could serve (``lakelink_session_idle``) goes straight to the first
waiting, with no library call, where taking it in the core costs a call that a library thread completes and
the loop is woken for (as asyncpg's pool hands its connections over in Python). At most HAND_OVERS times
in a row: then it goes back to the core, which decides whether it serves again (MaxLifetime). A ``getconn``
waits here at most STALL seconds, then in the core (first come, first served, where the pool's timeout
applies); while some wait there, sessions given back go there, so that they are served first.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import time
from types import TracebackType
from typing import Any, AsyncIterator, Optional, Type

from .. import _proto, errors
from ..apps import as_user_token
from ..connection import describe
from ..pool import (_OWN, check_own, check_timeout, connection_autocommit, pool_connection_string,
                    psycopg_stats)
from ._connection import AsyncConnection
from ._loop import completions

__all__ = ["AsyncConnectionPool"]

_numbers = itertools.count(1)

#: How many times in a row a session goes from one holder straight to the next, before it goes back to the core.
#: (A session is handed over when a getconn waits: the core's idle and lifetime bounds apply to it meanwhile
#: only when it goes back.)
HAND_OVERS = 100
#: How long (seconds) a getconn waits here for a session given back before it waits in the core: a session
#: held for a short statement comes back well within it.
STALL = 0.1


def _settle(fut: asyncio.Future[int], value: int) -> None:
    """Resolves fut with value unless it is done (cancelled meanwhile)."""
    if not fut.done():
        fut.set_result(value)


class AsyncConnectionPool:
    """A pool of Lakebase sessions for asyncio, shaped as psycopg_pool's ``AsyncConnectionPool``.

    >>> async with lakelink.aio.AsyncConnectionPool(conn_str, max_size=10) as pool:
    ...     async with pool.connection() as conn:
    ...         await conn.execute("INSERT INTO t VALUES (1)")   # committed at the end of the block
    ...     async with pool.connection(as_user=lakelink.user_token(request)) as conn:
    ...         rows = await (await conn.execute("SELECT * FROM orders")).fetchall()   # as the App's user

    ``kwargs={"autocommit": True}`` (psycopg_pool's) gives sessions in autocommit mode, each statement
    committed at once; by default a block's statements are one transaction. The sizes and their
    connection string properties are :class:`lakelink.ConnectionPool`'s
    (``min_size``, ``max_size``, ``max_idle``, ``max_lifetime``, ``timeout``, ``max_users``). The pool
    opens (logging in once, so a wrong host or credential fails there) at ``await pool.open()``,
    ``async with pool``, or the first :meth:`connection`: a constructor cannot await.
    """

    def __init__(self, connection_string: Optional[str] = None, *, min_size: Optional[int] = None,
                 max_size: Optional[int] = None, max_idle: Optional[float] = None,
                 max_lifetime: Optional[float] = None, timeout: Optional[float] = None,
                 max_users: Optional[int] = None, name: Optional[str] = None,
                 kwargs: Optional[dict[str, Any]] = None, **overrides: Any) -> None:
        self._handle = 0
        self._closed = False
        #: The pool's name (psycopg_pool's), shown by repr.
        self.name = name or f"pool-async-{next(_numbers)}"
        self._conn_str = pool_connection_string(
            connection_string, overrides, min_size=min_size, max_size=max_size, max_idle=max_idle,
            max_lifetime=max_lifetime, timeout=timeout, max_users=max_users)  # secrets
        self._described = describe(self._conn_str)
        self._opening: Optional[asyncio.Future[int]] = None
        self._autocommit = connection_autocommit("lakelink.aio.AsyncConnectionPool", kwargs)
        self._min, self._max, self._timeout = 0, 0, 0.0
        self._own: set[int] = set()  # the handles of the pool's own sessions its connections hold
        self._acquiring = 0  # getconns of the pool's own identity acquiring in the core
        # getconns waiting here, first come first: (future, when it is to wait in the core instead)
        self._waiting: collections.deque[tuple[asyncio.Future[int], float]] = collections.deque()
        self._handed: dict[int, int] = {}  # handles handed over -> times in a row
        self._stall: Optional[asyncio.TimerHandle] = None  # while some wait here: sends them to the core in time
        self._stall_loop: Optional[asyncio.AbstractEventLoop] = None  # the loop _stall runs on

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Opens the pool (logging in once); then, with ``wait``, waits as :meth:`wait`. A closed pool cannot
        be opened again."""
        await self._open()
        if wait:
            await self.wait(timeout)

    async def _open(self) -> int:
        if self._closed:
            raise errors.InterfaceError("the pool is closed")
        if self._handle:
            return self._handle
        if self._opening is None:  # tasks that ask at once share one login
            self._opening = asyncio.ensure_future(completions().call(_proto.PoolOpen(self._conn_str)))
        try:
            h = await asyncio.shield(self._opening)
        except BaseException:
            if self._opening.done():
                self._opening = None
            raise
        if not self._handle:
            self._handle = h
            s = _proto.pool_stats(h)
            self._min, self._max, self._timeout = int(s["min"]), int(s["max"]), float(s["timeout"])
        return self._handle

    @property
    def min_size(self) -> int:
        """MinConnections (0 until the pool opened)."""
        return self._min

    @property
    def max_size(self) -> int:
        """MaxConnections (0 until the pool opened)."""
        return self._max

    async def getconn(self, timeout: Optional[float] = None, *, as_user: Any = _OWN) -> AsyncConnection:
        """A session from the pool; give it back with :meth:`putconn` (or its ``close()``).

        ``timeout`` must be the pool's (the library waits ``PoolTimeout`` for every call);
        ``as_user`` as in :meth:`lakelink.ConnectionPool.getconn`: an App user's token (or a request carrying
        it), or nothing for the pool's own identity.
        """
        token = None if as_user is _OWN else as_user_token(as_user)
        pool = await self._open()
        if timeout is not None:
            check_timeout("lakelink.aio.AsyncConnectionPool", timeout, self._timeout)
        described = self._described + (" as an App user" if token is not None else "")
        if token is not None:
            return await AsyncConnection._open(_proto.Acquire(pool, token), described, self._autocommit, self)
        if len(self._own) + self._acquiring >= self._max:
            h = await self._wait_here()
            if h:
                return AsyncConnection._handed_over(h, described, self._autocommit, self)
            if self._closed:
                raise errors.InterfaceError("the pool is closed")
        self._acquiring += 1
        try:
            conn = await AsyncConnection._open(_proto.Acquire(pool, None), described, self._autocommit, self)
        except BaseException:
            self._acquiring -= 1
            self._came_free()
            raise
        self._acquiring -= 1
        self._own.add(conn._handle)
        return conn

    async def _wait_here(self) -> int:
        """Waits for a session of the pool's own identity given back: its handle, or 0 to take one in the core."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        self._waiting.append((fut, loop.time() + STALL))
        if self._stall is None or self._stall_loop is not loop:  # (a timer of a loop that ended never fires)
            self._arm(loop, STALL)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.result():  # handed a session as it was cancelled
                self._pass_on(fut.result())
            raise

    def _arm(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        """Sets the timer of _check_stall to run in delay seconds on loop."""
        if self._stall is not None:
            self._stall.cancel()
        self._stall, self._stall_loop = loop.call_later(delay, self._check_stall), loop

    def _check_stall(self) -> None:
        """Sends to the core those that waited here STALL seconds; comes back for the next."""
        self._stall = None
        loop = asyncio.get_running_loop()
        while self._waiting and self._waiting[0][1] <= loop.time():
            self._resolve(self._waiting.popleft()[0], 0)
        if self._waiting:
            self._arm(loop, self._waiting[0][1] - loop.time())

    @staticmethod
    def _resolve(fut: asyncio.Future[int], h: int) -> bool:
        """Resolves fut, a getconn's waiting here, with h (0: to the core, from any loop): False when it cannot
        take it (cancelled, or its loop closed)."""
        if fut.done() or fut.get_loop().is_closed():
            return False
        if fut.get_loop() is asyncio.get_running_loop():
            fut.set_result(h)
        else:
            fut.get_loop().call_soon_threadsafe(_settle, fut, h)
        return True

    def _release(self, n: int, h: int = 0) -> bool:
        """Resolves the first n getconns waiting here that can take it with h (0: to the core): True if n did. A
        session (h) goes only to a getconn of the running loop: it stops at another loop's."""
        running = asyncio.get_running_loop()
        while n and self._waiting:
            fut = self._waiting[0][0]
            if h and not fut.done() and fut.get_loop() is not running and not fut.get_loop().is_closed():
                break
            self._waiting.popleft()
            n -= self._resolve(fut, h)
        if not self._waiting and self._stall is not None:
            self._stall.cancel()
            self._stall = None
        return n == 0

    def _hand_over(self, h: int, autocommit: bool, unfit: bool) -> bool:
        """Called as a connection of this pool gives session h back (autocommit: its mode; unfit: the session is
        lost, or a cancel request of its holder is under way): hands it to the first getconn waiting here, if
        the session can serve it as it is. True if it did (h is then that getconn's)."""
        if h not in self._own:
            return False
        times = self._handed.pop(h, 0)
        # (Not while getconns wait in the core, beyond the sessions: they came first, and it goes there.)
        if (not self._waiting or len(self._own) + self._acquiring > self._max or unfit or autocommit != self._autocommit
                or self._closed or times >= HAND_OVERS or not _proto.session_idle(h)):
            return False
        if not self._release(1, h):
            return False
        self._handed[h] = times + 1
        return True

    def _given_back(self, h: int) -> None:
        """Called once session h went back to the core: a getconn waiting here may take one there now."""
        if h in self._own:
            self._own.discard(h)
            self._came_free()

    def _forget(self, h: int) -> None:
        """Session h went back to the core without a close() (its connection was collected)."""
        self._own.discard(h)
        self._handed.pop(h, None)

    def _came_free(self) -> None:
        """A session of the pool's own may be free in the core: the first getconn waiting here takes it there."""
        if len(self._own) + self._acquiring < self._max:
            self._release(1)

    def _pass_on(self, h: int) -> None:
        """Session h was handed to a getconn cancelled meanwhile: to the next waiting, or back to the core
        (it is idle: closing it sends nothing)."""
        if not self._hand_over(h, self._autocommit, False):
            try:
                _proto.Step(h, _proto.CLOSE).run()
            except errors.Error:
                pass  # the core drops a session it cannot take back
            self._given_back(h)

    async def putconn(self, conn: AsyncConnection) -> None:
        """Gives a session back (``await conn.close()``); ValueError for another pool's connection."""
        check_own(self, conn._pool)
        await conn.close()

    @contextlib.asynccontextmanager
    async def connection(self, timeout: Optional[float] = None, *,
                         as_user: Any = _OWN) -> AsyncIterator[AsyncConnection]:
        """A session for an ``async with`` block: at its end the transaction commits (rolls back on an
        exception) and the session goes back to the pool. ``timeout`` and ``as_user`` as in :meth:`getconn`."""
        conn = await self.getconn(timeout, as_user=as_user)
        async with conn:
            yield conn

    async def wait(self, timeout: float = 30.0) -> None:
        """Waits until ``min_size`` sessions are open and idle; if they are not within ``timeout`` seconds,
        closes the pool and raises :class:`~lakelink.OperationalError`."""
        await self._open()
        deadline = time.monotonic() + timeout
        while self.get_stats()["pool_available"] < self._min:
            if time.monotonic() >= deadline:
                await self.close()
                raise errors.OperationalError(f"lakelink.aio.AsyncConnectionPool {self.name!r}: {self._min} "
                                              f"sessions (min_size) not open after {timeout} s")
            await asyncio.sleep(0.02)

    def get_stats(self) -> dict[str, int]:
        """Counts under psycopg_pool's names (as :meth:`lakelink.ConnectionPool.get_stats`)."""
        stats = psycopg_stats(self._min, _proto.pool_stats(self._handle) if self._handle else None)
        stats["requests_waiting"] += sum(not f.done() for f, _ in self._waiting)
        return stats

    def pop_stats(self) -> dict[str, int]:
        """:meth:`get_stats` (the pool keeps no counters to reset)."""
        return self.get_stats()

    async def close(self, timeout: float = 5.0) -> None:
        """Closes the pool: idle sessions now, those in use when they are given back. Closing twice is
        allowed. (``timeout`` is psycopg_pool's; closing does not wait.)"""
        self._closed = True
        self._release(len(self._waiting))  # to find the pool closed
        opening, self._opening = self._opening, None
        if opening is not None and not self._handle:
            try:
                self._handle = await asyncio.shield(opening)
            except Exception:
                pass
        h, self._handle = self._handle, 0
        if h:
            _proto.pool_close(h)

    @property
    def closed(self) -> bool:
        """True once the pool is closed."""
        return self._closed

    async def __aenter__(self) -> AsyncConnectionPool:
        await self._open()
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    def __del__(self) -> None:
        try:
            h, self._handle = getattr(self, "_handle", 0), 0
            if h:
                _proto.pool_close(h)
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._handle else "not opened")
        return f"<lakelink.aio.AsyncConnectionPool {self.name!r} {state} {self._described}>"

    __str__ = __repr__
