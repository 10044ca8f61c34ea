"""PEP 249 cursors."""

from __future__ import annotations

import weakref
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Deque, Generic, Iterable, Iterator, Optional, Protocol, Sequence, Type, TypeVar

from . import _batch, _copy, _params, _proto, errors
from ._proto import BATCH_ROWS as BATCH_ROWS, Column as Column  # lakelink.cursor's names, as before

from .rows import RowFactory, RowMaker, tuple_row

if TYPE_CHECKING:
    from .connection import Connection

Row = tuple[Any, ...]

# The OAuth procedures a CData connector accepts through callproc.
_OAUTH_PROCS = {"getoauthauthorizationurl", "getoauthaccesstoken", "refreshoauthaccesstoken"}


class _Session(Protocol):
    """What a cursor reads of its connection (sync or async) without a call."""

    @property
    def row_factory(self) -> RowFactory: ...

    @property
    def closed(self) -> bool: ...


ConnT = TypeVar("ConnT", bound=_Session)


class BaseCursor(Generic[ConnT]):
    """What the sync cursor and lakelink.aio's share (as psycopg's BaseCursor): their state, and what reads
    or sets it without a call to the library."""

    def __init__(self, connection: ConnT, row_factory: Optional[RowFactory] = None) -> None:
        self._conn: Optional[ConnT] = connection
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
    def connection(self) -> ConnT:
        return self._live()

    @property
    def description(self) -> Optional[tuple[Column, ...]]:
        """(name, type_code, None, None, None, None, None) per column; None for a statement without rows."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last DML statement, or rows of a fully read result; -1 when not known yet."""
        return self._rowcount

    @property
    def row_factory(self) -> RowFactory:
        """How rows are returned (lakelink.rows); it applies from the next execute."""
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

    # ---- internals ----

    def _live(self) -> ConnT:
        conn = self._conn
        if self._closed or conn is None:
            raise errors.InterfaceError("the cursor is closed")
        if conn.closed:
            raise errors.InterfaceError("the connection is closed")
        return conn

    def _check_failed(self) -> None:
        e = self._failed
        if e is None:
            return
        if isinstance(e, errors.Error):
            raise e
        raise errors.InterfaceError(f"the rest of the result was dropped when reading it failed ({type(e).__name__}); "
                                    "execute the statement again") from e

    def _fetchable(self) -> None:
        """Raises unless there is a result to fetch rows from."""
        self._live()
        if self._description is None:
            raise errors.ProgrammingError("no result to fetch from: the last statement returned no rows")
        self._check_failed()

    def _clear(self) -> None:
        """Forgets the last statement's result (its native result closed already)."""
        self._rows.clear()
        self._failed = None
        self._description = None
        self._make = None
        self._rowcount = -1
        self._statusmessage = None

    def _answered(self, a: _proto.QueryAnswer) -> bool:
        """Takes a statement's answer (its first batch aside); True when its result stays open to stream."""
        self._result = a.result
        if not a.result:
            self._statusmessage, self._rowcount = a.statusmessage, a.rowcount
        self._describe(a.description)
        return bool(a.result)

    def _describe(self, description: Optional[tuple[Column, ...]]) -> None:
        """Sets the description, and the row maker of the row factory for it."""
        self._description = description
        f = self._row_factory
        self._make = None if description is None or f is tuple_row else f(self)

    def _row(self, values: Row) -> Any:
        return values if self._make is None else self._make(values)

    def _take_rows(self) -> list[Any]:
        """Every row buffered, made by the row factory."""
        make = self._make
        out = list(self._rows) if make is None else [make(r) for r in self._rows]
        self._rows.clear()
        return out

    def _copied(self, n: int) -> None:
        """Records a COPY's end: n rows copied."""
        self._rowcount = n
        self._statusmessage = f"COPY {n}" if n >= 0 else None

    def _copy_statement(self, statement: str, params: Optional[_params.Params]) -> str:
        """copy()'s statement, checked."""
        if params is not None:
            raise errors.NotSupportedError("COPY takes no parameters in lakelink: put literal values in the statement")
        self._live()
        return statement


class Cursor(BaseCursor["Connection"]):
    """A PEP 249 cursor. Rows stream from the server batch by batch.

    Rows are tuples unless a row factory (:mod:`lakelink.rows`, as
    psycopg's) says otherwise: ``conn.cursor(row_factory=dict_row)``.
    """

    def _read_batch(self) -> Optional[bytes]:
        """The next encoded batch, or None at the end. Touches nothing but the native result."""
        return _proto.NextBatch(self._result).run()

    def _next_batch(self) -> bool:
        """Reads one batch into self._rows; False (and the result finished) at the end. Lock held.

        Any exception (a database error, a bad value, KeyboardInterrupt)
        drops the result and the rows buffered from it, and later fetches
        raise: the rows left would not be the whole result.
        """
        try:
            raw = self._read_batch()
            if raw is not None:
                self._rows.extend(_batch.decode(raw))
        except BaseException as e:
            self._fail(e)
            raise
        if raw is None:
            self._finish()
            return False
        return True

    def _fail(self, e: BaseException) -> None:
        """Drops the result and its buffered rows after e; later fetches raise. Lock held."""
        self._discard()
        self._rows.clear()
        self._failed = e

    def _finish(self) -> None:
        """Reads the command tag and rows affected, and closes the result. Lock held."""
        try:
            self._statusmessage, self._rowcount = _proto.result_status(self._result)
        finally:
            self._discard()

    def _discard(self) -> None:
        """Closes the native result, dropping rows not read. Lock held."""
        h, self._result = self._result, 0
        conn = self._conn
        if conn is not None and conn._streaming is not None and conn._streaming() is self:
            conn._streaming = None
        if h:
            _proto.close_result(h)

    def _buffer_rest(self) -> None:
        """Reads every remaining row into memory (fetchall, or another cursor is about to execute). Lock held."""
        while self._result and self._next_batch():
            pass

    def _reset(self) -> None:
        self._discard()
        self._clear()

    # ---- PEP 249 ----

    def execute(self, operation: str, parameters: Optional[_params.Params] = None) -> Cursor:
        """Runs operation, with ``%s`` or ``%(name)s`` placeholders for parameters."""
        conn = self._live()
        with conn._lock:
            self._reset()
            conn._release_stream(self)
            a = _proto.run(_proto.execute(conn._check(), operation, parameters, self._out))
            if self._answered(a):
                conn._streaming = weakref.ref(self)
            try:
                if a.raw:
                    self._rows.extend(_batch.decode(a.raw))
            except BaseException as e:
                self._fail(e)
                raise
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[_params.Params]) -> None:
        """Runs operation once per parameter set, all sent at once as one pipelined batch.

        With no transaction open (autocommit) the rows run in one implicit
        transaction: a failing row fails them all. rowcount is the total of
        rows affected (-1 when the statement reports no count); rows the
        statement returns are dropped.
        """
        conn = self._live()
        with conn._lock:
            self._reset()
            conn._release_stream(None)
            self._rowcount = _proto.run(_proto.execute_many(conn._check(), operation, seq_of_parameters))

    def copy(self, statement: str, params: Optional[_params.Params] = None) -> _copy.Copy:
        """A COPY ... FROM STDIN or COPY ... TO STDOUT, as psycopg's ``cursor.copy()``: use it in a ``with`` block.

        ``with cur.copy("COPY t (a, b) FROM STDIN") as copy: copy.write_row((1, "x"))``;
        ``with cur.copy("COPY t TO STDOUT") as copy: for block in copy: ...``
        (see :class:`lakelink._copy.Copy`). After the block, rowcount is the rows copied.
        """
        return _copy.Copy(self, self._copy_statement(statement, params))

    def fetchone(self) -> Any:
        """The next row, or None at the end."""
        conn = self._live()  # as _fetchable, inline: this runs once a row
        if self._description is None:
            raise errors.ProgrammingError("no result to fetch from: the last statement returned no rows")
        if self._failed is not None:
            self._check_failed()
        if not self._rows and self._result:
            with conn._lock:
                while not self._rows and self._result and self._next_batch():
                    pass
        return self._row(self._rows.popleft()) if self._rows else None

    def fetchmany(self, size: Optional[int] = None) -> list[Any]:
        """Up to size rows (default: arraysize)."""
        n = self.arraysize if size is None else size
        out: list[Any] = []
        while len(out) < n:
            row = self.fetchone()
            if row is None:
                break
            out.append(row)
        return out

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        self._fetchable()
        if self._result:
            with self._live()._lock:
                self._buffer_rest()
        return self._take_rows()

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def callproc(self, procname: str, parameters: Optional[Sequence[Any]] = None) -> Any:
        """Calls a database function (``SELECT * FROM name($1, ...)``) as psycopg does.

        The CData OAuth procedure names (GetOAuthAuthorizationUrl,
        GetOAuthAccessToken, RefreshOAuthAccessToken) are accepted too: they
        run in lakelink (see :mod:`lakelink.oauth`) with a mapping of their
        inputs, and their one-row result is fetched like a query's.
        """
        if procname.lower() in _OAUTH_PROCS:
            return self._oauth_proc(procname, parameters)
        args = list(parameters or [])
        if not all(part.replace("_", "a").isalnum() for part in procname.split(".")):
            raise errors.ProgrammingError(f"not a plain function name: {procname!r}")
        placeholders = ", ".join(["%s"] * len(args))
        self.execute(f"SELECT * FROM {procname}({placeholders})", args)
        return parameters

    def _oauth_proc(self, procname: str, parameters: Any) -> Any:
        from . import oauth

        conn = self._live()
        inputs = {str(k).lower(): v for k, v in dict(parameters or {}).items()}
        inputs.setdefault("connectionstring", conn._conn_str)
        result = oauth.call_procedure(procname, inputs)
        with self._live()._lock:
            self._reset()
            self._describe(tuple(Column(k, 25) for k in result))
            self._rows.append(tuple(result.values()))
            self._rowcount = 1
        return parameters

    def setinputsizes(self, sizes: Any) -> None:
        """Does nothing (PEP 249 allows it)."""

    def setoutputsize(self, size: Any, column: Optional[int] = None) -> None:
        """Does nothing (PEP 249 allows it)."""

    def close(self) -> None:
        """Closes the cursor, dropping rows not read."""
        if self._closed:
            return
        conn = self._conn
        if conn is not None and not conn.closed:
            with conn._lock:
                self._discard()
        self._rows.clear()
        self._closed = True

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._result and self._conn is not None and not self._conn.closed:
                with self._conn._lock:
                    self._discard()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<lakelink.Cursor {state} rowcount={self._rowcount}>"
