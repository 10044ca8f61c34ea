"""COPY for asyncio, as psycopg's ``AsyncCopy``: lakelink._copy's protocol with awaited calls."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional, Sequence, Type

from .. import _proto, errors
from .._copy import FLUSH_ROWS, Buffer, CopyProtocol, param_rows, parse_text_rows, pickle_rows

if TYPE_CHECKING:
    from ._cursor import AsyncCursor


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

    async def _call(self, op: _proto.Op[Any]) -> Any:
        conn = self.cursor._live()
        async with conn._lock:
            return await conn._loop().call(op, cancel=conn._cancel_op())

    async def _start(self) -> None:
        conn = self.cursor._live()
        async with conn._lock:
            await self.cursor._reset()
            await conn._release_stream(None)
            op = _proto.CopyStart(conn._check(), self._p.statement, self._p.direction)
            self._p.handle = await conn._loop().call(op, cancel=conn._cancel_op())

    async def _flush(self) -> None:
        """Sends what is gathered: the rows (pickled, or as parameter rows when a value needs them, as the
        sync Copy decides), then the bytes."""
        rows, data = self._p.pending()
        h = self._p.handle
        if rows:
            payload = pickle_rows(rows)
            if payload is not None:
                try:
                    await self._call(_proto.CopyWrite(h, payload, b"pickle"))
                except errors.InterfaceError as e:
                    if e.code != errors.ERR_INVALID_ARGUMENT:
                        raise
                    payload = None  # nothing of them was sent: as parameter rows, which carry any value
            if payload is None:
                await self._call(_proto.CopyWrite(h, param_rows(rows), b"params"))
        if data:
            await self._call(_proto.CopyWrite(h, data, None))

    async def _end(self, abort: Optional[str]) -> int:
        h, self._p.handle = self._p.handle, 0
        self._p.finished = True
        n: int = await self._call(_proto.CopyEnd(h, abort))
        return n

    # ---- psycopg's AsyncCopy ----

    async def write_row(self, row: Sequence[Any]) -> None:
        """Sends one row: a value per column of the COPY (None is NULL)."""
        p = self._p
        if p.data or p.finished or p.direction != "in":
            p.check("in", "write_row")
            await self._flush()  # the bytes written before go first
        p.rows.append(row if type(row) is tuple else tuple(row))  # sent later: a list may change until then
        if len(p.rows) >= FLUSH_ROWS:
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
        block: bytes = await self._call(_proto.CopyRead(self._p.handle))
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
            await self._end(f"error from Python: {type(exc).__qualname__} - {exc}"
                            if self._p.direction == "in" else None)
        except errors.Error:
            pass
