"""Asynchronous pools of Lakebase sessions, in psycopg_pool's AsyncConnectionPool shape, over the core's pool."""

from __future__ import annotations

import asyncio
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
        return await AsyncConnection._open(_proto.Acquire(pool, token), described, self._autocommit, self)

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
        return psycopg_stats(self._min, _proto.pool_stats(self._handle) if self._handle else None)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`get_stats` (the pool keeps no counters to reset)."""
        return self.get_stats()

    async def close(self, timeout: float = 5.0) -> None:
        """Closes the pool: idle sessions now, those in use when they are given back. Closing twice is
        allowed. (``timeout`` is psycopg_pool's; closing does not wait.)"""
        self._closed = True
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
