"""COPY, as psycopg's ``cursor.copy()``: ``Copy`` (sync) over a protocol the async cursor shares.

``CopyProtocol`` holds the state of a COPY (which way it goes, the rows and
bytes gathered before they cross to the library: each crossing carries
about 128 KiB or 4096 rows), the parsing of COPY's text format for
``rows()``, and its calls as :mod:`lakelink._proto` operations (lakelink.h,
"Bulk: executemany and COPY"). ``Copy`` runs them blocking;
``lakelink.aio``'s ``AsyncCopy`` awaits the same operations.
"""

from __future__ import annotations

import io
import pickle
import re
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Deque, Iterator, Optional, Sequence, Type, Union

from . import _params, _proto, errors

if TYPE_CHECKING:
    from .cursor import Cursor

FLUSH_BYTES = 128 * 1024  # bytes gathered before one crossing of the ABI
FLUSH_ROWS = 4096  # rows gathered before one crossing of the ABI

_DIRECTION = re.compile(r"\b(from\s+stdin|to\s+stdout)\b", re.IGNORECASE)
_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v", b"\\": b"\\"}
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)

Buffer = Union[bytes, bytearray, memoryview, str]


def direction(statement: str) -> str:
    """"in" for a COPY ... FROM STDIN, "out" for a COPY ... TO STDOUT (the last of the two the statement says)."""
    found = _DIRECTION.findall(statement)
    if not found:
        raise errors.ProgrammingError("cursor.copy() takes a COPY ... FROM STDIN or a COPY ... TO STDOUT statement")
    return "in" if found[-1].lower().startswith("from") else "out"


def _unescape_field(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.group(1), m.group(2), m.group(3)
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _ESCAPES.get(other, other)


def parse_text_rows(data: bytes) -> list[tuple[Optional[str], ...]]:
    """The rows of whole lines of COPY's text format: each value a str (None for NULL), as psycopg without set_types."""
    rows: list[tuple[Optional[str], ...]] = []
    for line in data.split(b"\n"):
        if not line:
            continue
        values: list[Optional[str]] = []
        for field in line.split(b"\t"):
            if field == b"\\N":
                values.append(None)
            elif b"\\" in field:
                values.append(_ESCAPE.sub(_unescape_field, field).decode("utf-8"))
            else:
                values.append(field.decode("utf-8"))
        rows.append(tuple(values))
    return rows


class _NotPlain(Exception):
    """A value that pickled rows do not carry."""


class _PlainPickler(pickle.Pickler):
    """Pickles rows of plain values only: anything pickle would reduce (Decimal, datetime, ...) stops it."""

    def reducer_override(self, obj: Any) -> Any:
        raise _NotPlain


def pickle_rows(rows: list[Sequence[Any]]) -> Optional[bytes]:
    """rows as pickled rows (TYPES.md, "Pickled rows"), or None when a value needs parameter rows.

    Pickling runs in C: a fraction of the cost of encoding parameter rows in
    Python. The library refuses the few plain-looking values it does not
    carry (dicts, nested lists), and the rows then go as parameter rows."""
    f = io.BytesIO()
    try:
        _PlainPickler(f, 5).dump(rows)
    except (_NotPlain, pickle.PicklingError, RecursionError):
        return None
    return f.getvalue()


def param_rows(rows: list[Sequence[Any]]) -> bytes:
    """rows as parameter rows (TYPES.md, "Parameter rows"): any value a statement parameter takes."""
    buf, enc = bytearray(), _params.RowEncoder()
    for row in rows:
        enc.append(buf, row)
    return bytes(buf)


class CopyProtocol:
    """The state of one COPY, and its calls as _proto operations, whichever way they block: the sync
    :class:`Copy` runs them, ``lakelink.aio``'s AsyncCopy awaits them."""

    def __init__(self, statement: str) -> None:
        self.statement = statement
        self.direction = direction(statement)
        self.handle = 0
        self.rows: list[Sequence[Any]] = []  # rows not sent yet (one list, emptied by pending)
        self.data = bytearray()  # bytes not sent yet (after the rows)
        # A row may join self.rows: a COPY FROM, not finished, no bytes gathered (they would go first).
        self.rows_go_next = self.direction == "in"
        self.parsed: Deque[tuple[Optional[str], ...]] = deque()
        self.finished = False

    def check(self, want: str, what: str) -> None:
        if self.finished:
            raise errors.ProgrammingError("the COPY has ended")
        if self.direction != want:
            if want == "in":
                raise errors.ProgrammingError(f"{what}: this COPY goes TO STDOUT: read it")
            raise errors.ProgrammingError(f"{what}: this COPY goes FROM STDIN: write to it")

    def add_data(self, buffer: Buffer) -> bool:
        """Gathers bytes to send (after the rows gathered before them); True when a flush is due."""
        self.check("in", "write")
        self.data += buffer.encode() if isinstance(buffer, str) else buffer
        self.rows_go_next = False
        return len(self.data) >= FLUSH_BYTES

    def pending(self) -> tuple[list[Sequence[Any]], bytes]:
        """Takes what is gathered, in the order it must go: rows, then bytes."""
        rows, data = self.rows[:], bytes(self.data)
        self.rows.clear()
        self.data.clear()
        self.rows_go_next = self.direction == "in" and not self.finished
        return rows, data

    # ---- the calls ----

    def start(self, conn: int) -> _proto.CopyStart:
        """The call that starts the COPY on session conn (its answer is the handle)."""
        return _proto.CopyStart(conn, self.statement, self.direction)

    def flush(self) -> _proto.Gen[None]:
        """Sends what is gathered: the rows pickled (or as parameter rows when a value needs them), then the
        bytes."""
        rows, data = self.pending()
        h = self.handle
        if rows:
            payload = pickle_rows(rows)
            if payload is not None:
                try:
                    yield _proto.CopyWrite(h, payload, b"pickle")
                except errors.InterfaceError as e:
                    if e.code != errors.ERR_INVALID_ARGUMENT:
                        raise
                    payload = None  # nothing of them was sent: as parameter rows, which carry any value
            if payload is None:
                yield _proto.CopyWrite(h, param_rows(rows), b"params")
        if data:
            yield _proto.CopyWrite(h, data, None)

    def read(self) -> _proto.CopyRead:
        """The call that reads the next block of a COPY TO."""
        return _proto.CopyRead(self.handle)

    def end(self, abort: Optional[str]) -> _proto.CopyEnd:
        """The call that ends the COPY (its answer is the rows copied); the COPY counts as ended from now."""
        h, self.handle = self.handle, 0
        self.finished = True
        self.rows_go_next = False
        return _proto.CopyEnd(h, abort)

    def abort_reason(self, exc: BaseException) -> Optional[str]:
        """Why a COPY FROM left by exc fails, as psycopg says it (the Python error's text); None for a COPY TO."""
        return f"error from Python: {type(exc).__qualname__} - {exc}" if self.direction == "in" else None


class Copy:
    """A COPY in progress, from ``cursor.copy(statement)``; use it as a context manager.

    COPY ... FROM STDIN: ``write_row(values)`` (values in any type a
    statement parameter takes; the COPY must be in text format, the
    default) and ``write(data)`` (bytes or str in the COPY's own format:
    text, csv or binary). COPY ... TO STDOUT: ``read()`` (the next block of
    whole rows in the COPY's format, b"" at the end), iteration over the
    blocks, ``rows()`` and ``read_row()`` (text format: each value a str,
    None for NULL). Leaving the block ends the COPY (an exception aborts a
    COPY FROM) and sets the cursor's rowcount to the rows copied.
    """

    def __init__(self, cursor: Cursor, statement: str) -> None:
        self.cursor = cursor
        self._p = CopyProtocol(statement)

    # ---- the blocking calls (the connection's lock held for each) ----

    def _start(self) -> None:
        conn = self.cursor._live()
        with conn._lock:
            self.cursor._reset()
            conn._release_stream(None)
            self._p.handle = self._p.start(conn._check()).run()

    def _flush(self) -> None:
        with self.cursor._live()._lock:
            _proto.run(self._p.flush())

    def _end(self, abort: Optional[str]) -> int:
        op = self._p.end(abort)
        with self.cursor._live()._lock:
            return op.run()

    def _read_block(self) -> bytes:
        with self.cursor._live()._lock:
            return self._p.read().run()

    # ---- psycopg's Copy ----

    def write_row(self, row: Sequence[Any]) -> None:
        """Sends one row: a value per column of the COPY (None is NULL)."""
        rows = self._p.rows  # the hot path of a COPY FROM: inline, no call per row
        if not self._p.rows_go_next:
            self._p.check("in", "write_row")
            self._flush()  # the bytes written before go first
        rows.append(row if type(row) is tuple else tuple(row))  # sent later: a list may change until then
        if len(rows) >= FLUSH_ROWS:
            self._flush()

    def write(self, buffer: Buffer) -> None:
        """Sends data in the COPY's format (str is encoded as UTF-8)."""
        if self._p.add_data(buffer):
            self._flush()

    def read(self) -> bytes:
        """The next block of whole rows as the server sent them; b"" at the end."""
        self._p.check("out", "read")
        if self._p.finished:
            return b""
        block = self._read_block()
        if not block:
            self._finish()
        return block

    def __iter__(self) -> Iterator[bytes]:
        while True:
            block = self.read()
            if not block:
                return
            yield block

    def read_row(self) -> Optional[tuple[Optional[str], ...]]:
        """The next row of a text-format COPY TO (each value a str, None for NULL); None at the end."""
        while not self._p.parsed:
            if self._p.finished:
                return None
            block = self.read()
            if not block:
                return None
            self._p.parsed.extend(parse_text_rows(block))
        return self._p.parsed.popleft()

    def rows(self) -> Iterator[tuple[Optional[str], ...]]:
        """The rows of a text-format COPY TO, as read_row gives them."""
        while True:
            row = self.read_row()
            if row is None:
                return
            yield row

    def set_types(self, types: Sequence[Any]) -> None:
        """Not supported: write_row converts each value as a parameter of its column's type, with no need for it."""
        raise errors.NotSupportedError("Copy.set_types is not supported: write_row needs no types (the server "
                                       "converts each value to its column's type); rows() reads text values")

    def finish(self) -> None:
        """Ends the COPY (leaving the block does it)."""
        if not self._p.finished:
            self._finish()

    def _finish(self) -> None:
        if self._p.direction == "in":
            self._flush()
        self.cursor._copied(self._end(None))

    def __enter__(self) -> Copy:
        self._start()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._p.finished:
            return
        if exc is None:
            self._finish()
            return
        try:  # as psycopg: the COPY fails with the Python error's text, which is what is raised
            self._end(self._p.abort_reason(exc))
        except errors.Error:
            pass
