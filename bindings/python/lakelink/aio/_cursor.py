"""Asynchronous cursors (psycopg's AsyncCursor shape)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterable, Optional, Type

from .. import _batch, _params, _proto, errors
from ..cursor import BaseCursor
from ._copy import AsyncCopy
from ._loop import Started

if TYPE_CHECKING:
    from ._connection import AsyncConnection


class AsyncCursor(BaseCursor["AsyncConnection"]):
    """A cursor whose statements and fetches are awaited. Rows stream from the server batch by batch
    (fetchall, and a stream another statement interrupts, read the next batch while decoding the last).

    >>> async with conn.cursor() as cur:
    ...     await cur.execute("SELECT id, name FROM t WHERE id > %s", (10,))
    ...     async for row in cur:
    ...         print(row)

    Rows are tuples unless a row factory (:mod:`lakelink.rows`) says otherwise:
    ``conn.cursor(row_factory=dict_row)``.
    """

    # ---- internals (the connection's lock held) ----

    async def _read(self, prefetch: bool) -> bool:
        """Reads the next batch into self._rows; False (the result finished) at the end.

        With prefetch, the batch after it is started before this one is decoded, so the library reads
        from the server while Python decodes; _pending holds it. Any exception drops the result.
        """
        conn = self._live()
        try:
            loop = conn._loop()
            pending, self._pending = self._pending, None
            if pending is None:
                pending = loop.begin(_proto.NextBatch(self._result))
            raw = await loop.wait(pending, cancel=conn._cancel_op())
            if raw is None:
                self._finish()
                return False
            if prefetch:
                self._pending = loop.begin(_proto.NextBatch(self._result))
            self._rows.extend(_batch.decode(raw))
        except BaseException as e:
            conn._note(e)
            await self._fail(e)
            raise
        return True

    _pending: Optional[Started[Optional[bytes]]] = None  # a batch call started ahead (prefetch)

    def _finish(self) -> None:
        h, self._result = self._result, 0
        self._unstream()
        self._statusmessage, self._rowcount = _proto.finish(h)

    def _unstream(self) -> None:
        conn = self._conn
        if conn is not None and conn._streaming is self:
            conn._streaming = None

    async def _fail(self, e: BaseException) -> None:
        await self._discard()
        self._rows.clear()
        self._failed = e

    async def _discard(self) -> None:
        """Closes the native result (reading the rest off the server without blocking the loop)."""
        h, self._result = self._result, 0
        self._unstream()
        pending, self._pending = self._pending, None
        conn = self._conn
        if conn is None:
            return
        if pending is not None:
            try:
                await conn._loop().wait(pending)
            except Exception:
                pass
        if h:
            await conn._loop().call(_proto.CloseResult(h))

    async def _buffer_rest(self) -> None:
        while self._result and await self._read(prefetch=True):
            pass

    async def _reset(self) -> None:
        if self._result or self._pending is not None:
            await self._discard()
        self._clear()

    # ---- the API ----

    async def execute(self, query: str, params: Optional[_params.Params] = None) -> AsyncCursor:
        """Runs query, with ``%s`` or ``%(name)s`` placeholders for params. Cancelling the awaiting task
        cancels the statement on the server; the connection stays usable."""
        conn = self._live()
        async with conn._lock:
            await self._reset()
            if conn._streaming is not None and conn._streaming is not self:
                await conn._release_stream(self)
            try:
                a = await conn._loop().drive(_proto.execute(conn._check(), query, params, self._out),
                                             cancel=conn._cancel_op())
            except errors.Error as e:
                conn._note(e)
                raise
            if self._answered(a):
                conn._streaming = self
            try:
                if a.raw:
                    self._rows.extend(_batch.decode(a.raw))
            except BaseException as e:
                await self._fail(e)
                raise
        return self

    async def executemany(self, query: str, params_seq: Iterable[_params.Params]) -> None:
        """Runs query once per parameter set, all sent at once as one pipelined batch (as
        :meth:`lakelink.Cursor.executemany`); rowcount is the total of rows affected."""
        conn = self._live()
        async with conn._lock:
            await self._reset()
            await conn._release_stream(None)
            try:
                self._rowcount = await conn._loop().drive(_proto.execute_many(conn._check(), query, params_seq),
                                                          cancel=conn._cancel_op())
            except errors.Error as e:
                conn._note(e)
                raise

    def copy(self, statement: str, params: Optional[_params.Params] = None) -> AsyncCopy:
        """A COPY ... FROM STDIN or TO STDOUT, as psycopg's: ``async with cur.copy(sql) as copy: ...``."""
        return AsyncCopy(self, self._copy_statement(statement, params))

    async def fetchone(self) -> Any:
        """The next row, or None at the end."""
        self._fetchable()
        if not self._rows and self._result:
            async with self._live()._lock:
                while not self._rows and self._result and await self._read(prefetch=False):
                    pass
        return self._row(self._rows.popleft()) if self._rows else None

    async def fetchmany(self, size: Optional[int] = None) -> list[Any]:
        """Up to size rows (default: arraysize)."""
        n = self.arraysize if size is None else size
        self._fetchable()
        while len(self._rows) < n and self._result:
            async with self._live()._lock:
                if self._result:
                    await self._read(prefetch=False)
        rows, make = self._rows, self._row
        return [make(rows.popleft()) for _ in range(min(n, len(rows)))]

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        self._fetchable()
        if self._result:
            async with self._live()._lock:
                await self._buffer_rest()
        return self._take_rows()

    def __aiter__(self) -> AsyncCursor:
        return self

    async def __anext__(self) -> Any:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self) -> None:
        """Closes the cursor, dropping rows not read."""
        if self._closed:
            return
        conn = self._conn
        if conn is not None and not conn.closed and self._result:
            async with conn._lock:
                await self._discard()
        self._rows.clear()
        self._closed = True

    async def __aenter__(self) -> AsyncCursor:
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<lakelink.aio.AsyncCursor {state} rowcount={self._rowcount}>"
