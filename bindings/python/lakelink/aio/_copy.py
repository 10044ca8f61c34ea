"""COPY for asyncio, as psycopg's ``AsyncCopy``: lakelink._copy's protocol, its operations awaited."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional, Sequence, Type, TypeVar

from .. import _proto, errors
from .._copy import FLUSH_ROWS, Buffer, CopyProtocol, parse_text_rows

if TYPE_CHECKING:
    from ._cursor import AsyncCursor

T = TypeVar("T")


class AsyncCopy:
    """A COPY in progress, from ``cursor.copy(statement)``; use it in an ``async with`` block.

    COPY ... FROM STDIN: ``await write_row(values)``, ``await write(data)``. COPY ... TO STDOUT:
    ``await read()`` (the next block of whole rows, b"" at the end), ``async for block in copy``,
    ``rows()`` and ``await read_row()`` (text format: each value a str, None for NULL). Leaving the
    block ends the COPY (an exception aborts a COPY FROM) and sets the cursor's rowcount.
    """

    def __init__(self, cursor: AsyncCursor, statement: str) -> None:
        self.cursor = cursor
        self._p = CopyProtocol(statement)

    # ---- the awaited calls (the connection's lock held for each) ----

    async def _call(self, op: _proto.Op[T]) -> T:
        conn = self.cursor._live()
        async with conn._lock:
            return await conn._loop().call(op, cancel=conn._cancel_op())

    async def _start(self) -> None:
        conn = self.cursor._live()
        async with conn._lock:
            await self.cursor._reset()
            await conn._release_stream(None)
            self._p.handle = await conn._loop().call(self._p.start(conn._check()), cancel=conn._cancel_op())

    async def _flush(self) -> None:
        conn = self.cursor._live()
        async with conn._lock:
            await conn._loop().drive(self._p.flush(), cancel=conn._cancel_op())

    async def _end(self, abort: Optional[str]) -> int:
        return await self._call(self._p.end(abort))

    # ---- psycopg's AsyncCopy ----

    async def write_row(self, row: Sequence[Any]) -> None:
        """Sends one row: a value per column of the COPY (None is NULL)."""
        rows = self._p.rows  # as Copy.write_row
        if not self._p.rows_go_next:
            self._p.check("in", "write_row")
            await self._flush()  # the bytes written before go first
        rows.append(row if type(row) is tuple else tuple(row))  # sent later: a list may change until then
        if len(rows) >= FLUSH_ROWS:
            await self._flush()

    async def write(self, buffer: Buffer) -> None:
        """Sends data in the COPY's format (str is encoded as UTF-8)."""
        if self._p.add_data(buffer):
            await self._flush()

    async def read(self) -> bytes:
        """The next block of whole rows as the server sent them; b"" at the end."""
        self._p.check("out", "read")
        if self._p.finished:
            return b""
        block: bytes = await self._call(self._p.read())
        if not block:
            await self._finish()
        return block

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            block = await self.read()
            if not block:
                return
            yield block

    async def read_row(self) -> Optional[tuple[Optional[str], ...]]:
        """The next row of a text-format COPY TO (each value a str, None for NULL); None at the end."""
        while not self._p.parsed:
            if self._p.finished:
                return None
            block = await self.read()
            if not block:
                return None
            self._p.parsed.extend(parse_text_rows(block))
        return self._p.parsed.popleft()

    async def rows(self) -> AsyncIterator[tuple[Optional[str], ...]]:
        """The rows of a text-format COPY TO, as read_row gives them."""
        while True:
            row = await self.read_row()
            if row is None:
                return
            yield row

    async def finish(self) -> None:
        """Ends the COPY (leaving the block does it)."""
        if not self._p.finished:
            await self._finish()

    async def _finish(self) -> None:
        if self._p.direction == "in":
            await self._flush()
        self.cursor._copied(await self._end(None))

    async def __aenter__(self) -> AsyncCopy:
        await self._start()
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        if self._p.finished:
            return
        if exc is None:
            await self._finish()
            return
        try:  # as psycopg: the COPY fails with the Python error's text, which is what is raised
            await self._end(self._p.abort_reason(exc))
        except errors.Error:
            pass
