"""Asynchronous connections (psycopg's AsyncConnection shape)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Optional, Type

from .. import _connstr, _proto, errors
from ..connection import _lost, describe
from ..rows import RowFactory, tuple_row
from ._cursor import AsyncCursor
from ._loop import Completions, completions


class AsyncConnection(errors.ConnectionErrors):
    """A Lakebase session whose calls are awaited; the event loop never blocks.

    Open one with ``await lakelink.aio.connect(...)`` (a session of its own) or take one from an
    :class:`~lakelink.aio.AsyncConnectionPool`. Autocommit is off by default (as psycopg's): the
    first statement opens a transaction that lasts until :meth:`commit` or :meth:`rollback`.
    ``async with conn:`` commits at the end of the block (rolls back on an exception) and closes.

    One statement runs at a time on a connection: concurrent tasks wait for each other. Cancelling
    the task awaiting a statement (``task.cancel()``, ``asyncio.wait_for``) cancels the statement on
    the server; the connection stays usable.
    """

    def __init__(self, handle: int, described: str, pool: Any = None) -> None:
        """Use :func:`lakelink.aio.connect` or a pool: this wraps a session handle already open."""
        self._handle = handle
        self._described = described
        self._pool = pool  # the AsyncConnectionPool it came from
        self._autocommit = False
        self._lock = asyncio.Lock()
        self._streaming: Optional[AsyncCursor] = None
        self._lost = False  # an error said the session is lost: close() ends it instead of giving it back
        self._cancels = 0  # cancel() calls in flight: their request could reach a next holder's statement
        self.row_factory: RowFactory = tuple_row
        """The row factory of the connection's new cursors (lakelink.rows; tuple_row by default)."""

    @classmethod
    async def connect(cls, connection_string: Optional[str] = None, *, autocommit: bool = False,
                      **overrides: Any) -> AsyncConnection:
        """Opens a session of its own (as :func:`lakelink.aio.connect`)."""
        conn_str = _connstr.build(connection_string, overrides)
        return await cls._open(_proto.Connect(conn_str), describe(conn_str), autocommit)

    @classmethod
    async def _open(cls, op: _proto.Op[int], described: str, autocommit: bool, pool: Any = None) -> AsyncConnection:
        """A connection over the handle op opens (in autocommit mode, as the library opens them)."""
        self = cls(await completions().call(op), described, pool)
        self._autocommit = True
        if not autocommit:
            try:
                self._step_blocking(_proto.AUTOCOMMIT_OFF)
                self._autocommit = False
            except BaseException:
                await self.close()
                raise
        return self

    @classmethod
    def _handed_over(cls, handle: int, described: str, autocommit: bool, pool: Any) -> AsyncConnection:
        """A connection over a pool's session that another connection of the pool gave back, as it was (in
        autocommit mode or not, as autocommit says: the pool's mode), with no call to the library."""
        self = cls(handle, described, pool)
        self._autocommit = autocommit
        return self

    # ---- internals used by cursors ----

    @staticmethod
    def _loop() -> Completions:
        return completions()

    def _check(self) -> int:
        if not self._handle:
            raise errors.InterfaceError("the connection is closed")
        return self._handle

    def _cancel_op(self) -> Optional[_proto.Op[None]]:
        """The operation that cancels this session's running statement."""
        return _proto.Step(self._handle, _proto.CANCEL) if self._handle else None

    async def _release_stream(self, keep: Optional[AsyncCursor]) -> None:
        """Makes the streaming cursor (if it is not keep) buffer its rows. Lock held."""
        cur = self._streaming
        if cur is not None and cur is not keep:
            await cur._buffer_rest()

    async def _step(self, step: int) -> None:
        try:
            await self._loop().call(_proto.Step(self._check(), step))
        except errors.Error as e:
            self._note(e)
            raise

    def _step_blocking(self, step: int) -> None:
        """Runs a step that waits for nothing (no statement of ours runs: the lock is held, or the session is
        new) as a blocking call: setting autocommit, or, in autocommit mode, where the library holds no
        transaction, committing or rolling back (nothing to do) and giving a pool's session back."""
        try:
            _proto.Step(self._check(), step).run()
        except errors.Error as e:
            self._note(e)
            raise

    def _note(self, e: BaseException) -> None:
        if isinstance(e, errors.Error) and _lost(e):
            self._lost = True

    # ---- the API ----

    def cursor(self, *, row_factory: Optional[RowFactory] = None) -> AsyncCursor:
        """A new cursor on this connection; row_factory (lakelink.rows) defaults to the connection's."""
        self._check()
        return AsyncCursor(self, row_factory)

    async def execute(self, query: str, params: Any = None) -> AsyncCursor:
        """A new cursor, executed (psycopg's shortcut)."""
        return await self.cursor().execute(query, params)

    async def commit(self) -> None:
        """Commits the current transaction (if any)."""
        await self._end_transaction(_proto.COMMIT)

    async def rollback(self) -> None:
        """Rolls back the current transaction (if any)."""
        await self._end_transaction(_proto.ROLLBACK)

    async def _end_transaction(self, step: int) -> None:
        async with self._lock:
            await self._release_stream(None)
            if self._autocommit:
                self._step_blocking(step)  # no transaction in the library: nothing sent
            else:
                await self._step(step)

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits at once (default False); set it with :meth:`set_autocommit`."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, on: bool) -> None:
        raise AttributeError("lakelink.aio.AsyncConnection.autocommit: use `await conn.set_autocommit(value)` "
                             "(as psycopg's AsyncConnection)")

    async def set_autocommit(self, on: bool) -> None:
        """Sets autocommit (commit or roll back an open transaction first)."""
        async with self._lock:
            await self._release_stream(None)
            self._step_blocking(_proto.AUTOCOMMIT_ON if on else _proto.AUTOCOMMIT_OFF)
            self._autocommit = bool(on)

    async def cancel(self) -> None:
        """Asks the server to cancel the statement running on this connection (from another task)."""
        step = _proto.Step(self._check(), _proto.CANCEL)
        self._cancels += 1
        try:
            await self._loop().call(step)
        finally:
            self._cancels -= 1

    async def close(self) -> None:
        """Closes the connection (rolling back an open transaction). Closing twice is allowed.

        A session of its own ends on the server; a pool's goes back to its pool, unless an error said the
        session was lost: then it is ended, and the pool opens another when needed.
        """
        if not self._handle:
            return
        async with self._lock:
            if not self._handle:
                return
            cur = self._streaming
            if cur is not None:
                await cur._discard()
            h, self._handle = self._handle, 0
            if self._pool is not None and self._pool._hand_over(h, self._autocommit, self._lost or self._cancels > 0):
                return  # straight to the next holder
            step = _proto.Step(h, _proto.DISCARD if self._lost else _proto.CLOSE)
            try:
                if self._pool is not None and self._autocommit and not self._lost:
                    step.run()  # back to its pool: nothing to roll back, nothing sent
                else:
                    await self._loop().call(step)
            finally:
                if self._pool is not None:
                    self._pool._given_back(h)

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return not self._handle

    async def __aenter__(self) -> AsyncConnection:
        self._check()
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        """Commits on success, rolls back on an exception, then closes (as psycopg's)."""
        if self.closed:
            return
        try:
            if exc_type is None:
                await self.commit()
            else:
                try:
                    await self.rollback()
                except errors.Error:
                    pass
        finally:
            await self.close()

    def __del__(self) -> None:
        # Not awaited: a session left open is given back (or ended) by a blocking call.
        try:
            h, self._handle = self._handle, 0
            if h:
                _proto.Step(h, _proto.DISCARD if self._lost else _proto.CLOSE).run()
                if self._pool is not None:
                    self._pool._forget(h)
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<lakelink.aio.AsyncConnection {state} {self._described}>"

    __str__ = __repr__


async def connect(connection_string: Optional[str] = None, *, autocommit: bool = False,
                  **overrides: Any) -> AsyncConnection:
    """Opens a Lakebase session without blocking the event loop.

    ``connection_string`` is ``Key=Value;...`` and keyword overrides take the same property names, as
    for :func:`lakelink.connect`. ``autocommit`` as psycopg's. The credential is minted and renewed inside.
    """
    return await AsyncConnection.connect(connection_string, autocommit=autocommit, **overrides)
