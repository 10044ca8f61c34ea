"""Asynchronous cursors (psycopg's AsyncCursor shape)."""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Deque, Iterable, Optional, Type

from .. import _batch, _params, _proto, errors
from ..cursor import Column, Row
from ..rows import RowFactory, RowMaker, tuple_row
from ._copy import AsyncCopy
from ._loop import Started

if TYPE_CHECKING:
    from ._connection import AsyncConnection


class AsyncCursor:
    """A cursor whose statements and fetches are awaited. Rows stream from the server batch by batch,
    the next batch read by the library while the last one is decoded.

    >>> async with conn.cursor() as cur:
    ...     await cur.execute("SELECT id, name FROM t WHERE id > %s", (10,))
    ...     async for row in cur:
    ...         print(row)

    Rows are tuples unless a row factory (:mod:`lakelink.rows`) says otherwise:
    ``conn.cursor(row_factory=dict_row)``.
    """

    def __init__(self, connection: AsyncConnection, row_factory: Optional[RowFactory] = None) -> None:
        self._conn: Optional[AsyncConnection] = connection
        self._row_factory: RowFactory = row_factory or connection.row_factory
        self._make: Optional[RowMaker] = None  # None: rows stay tuples
        self.arraysize: int = 1
        self._result = 0  # the native result handle while streaming
        self._rows: Deque[Row] = deque()
        self._failed: Optional[BaseException] = None  # why the result was dropped part-read
        self._description: Optional[tuple[Column, ...]] = None
        self._rowcount = -1
        self._statusmessage: Optional[str] = None
        self._closed = False
        self._out = _proto.QueryOutputs()  # reused by each statement (it runs under the connection's lock)

    # ---- attributes ----

    @property
    def connection(self) -> AsyncConnection:
        return self._live()

    @property
    def description(self) -> Optional[tuple[Column, ...]]:
        """(name, type_code, None, None, None, None, None) per column; None for a statement without rows."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last DML statement, or rows of a fully read result; -1 when not known."""
        return self._rowcount

    @property
    def row_factory(self) -> RowFactory:
        """How rows are returned (lakelink.rows)."""
        return self._row_factory

    @row_factory.setter
    def row_factory(self, factory: RowFactory) -> None:
        self._row_factory = factory
        if self._description is not None:
            self._describe(self._description)

    @property
    def statusmessage(self) -> Optional[str]:
        """The last command tag ("INSERT 0 1"), once known."""
        return self._statusmessage

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- internals (the connection's lock held) ----

    def _live(self) -> AsyncConnection:
        conn = self._conn
        if self._closed or conn is None:
            raise errors.InterfaceError("the cursor is closed")
        if conn.closed:
            raise errors.InterfaceError("the connection is closed")
        return conn

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

    def _check_failed(self) -> None:
        e = self._failed
        if e is None:
            return
        if isinstance(e, errors.Error):
            raise e
        raise errors.InterfaceError(f"the rest of the result was dropped when reading it failed ({type(e).__name__}); "
                                    "execute the statement again") from e

    async def _reset(self) -> None:
        if self._result or self._pending is not None:
            await self._discard()
        self._rows.clear()
        self._failed = None
        self._description = None
        self._make = None
        self._rowcount = -1
        self._statusmessage = None

    def _describe(self, description: Optional[tuple[Column, ...]]) -> None:
        """Sets the description, and the row maker of the row factory for it."""
        self._description = description
        f = self._row_factory
        self._make = None if description is None or f is tuple_row else f(self)

    def _row(self, values: Row) -> Any:
        return values if self._make is None else self._make(values)

    def _copied(self, n: int) -> None:
        """Records a COPY's end: n rows copied."""
        self._rowcount = n
        self._statusmessage = f"COPY {n}" if n >= 0 else None

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
            self._result = a.result
            if a.result:
                conn._streaming = self
            else:
                self._statusmessage, self._rowcount = a.statusmessage, a.rowcount
            self._describe(a.description)
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
        if params is not None:
            raise errors.NotSupportedError("COPY takes no parameters in lakelink: put literal values in the statement")
        self._live()
        return AsyncCopy(self, statement)

    async def _buffer_rest_locked(self) -> None:
        conn = self._live()
        async with conn._lock:
            await self._buffer_rest()

    def _fetchable(self) -> None:
        self._live()
        if self._description is None:
            raise errors.ProgrammingError("no result to fetch from: the last statement returned no rows")
        self._check_failed()

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
        make = self._make
        out = list(self._rows) if make is None else [make(r) for r in self._rows]
        self._rows.clear()
        return out

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
