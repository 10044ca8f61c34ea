"""PEP 249 connections."""

from __future__ import annotations

import weakref
from types import TracebackType
from typing import Any, Optional, Type

from . import _connstr, _native, _proto, errors
from .cursor import Cursor
from .rows import RowFactory, tuple_row


class Connection(errors.ConnectionErrors):
    """A Lakebase session (PEP 249). Open one with :func:`lakelink.connect` (a session of its
    own), or take one from a :class:`lakelink.ConnectionPool` (its ``close()`` gives it back).

    Connections may be shared between threads (threadsafety 2): every call
    is serialized by a per-connection lock. Autocommit is off by default,
    as PEP 249 wants: the first statement opens a transaction that lasts
    until :meth:`commit` or :meth:`rollback`.

    The C library streams one result per connection and a new statement
    discards what is left of the previous one, so before a cursor executes,
    any other cursor of the connection still streaming reads its remaining
    rows into memory; no cursor loses rows.
    """

    def __init__(self, conn_str: str, autocommit: bool = False) -> None:
        self._start(conn_str, describe(conn_str), _proto.Connect(conn_str), autocommit)

    @classmethod
    def _opened(cls, conn_str: str, described: str, open_handle: _proto.Op[int], autocommit: bool,
                pool: Any) -> Connection:
        """A connection over the handle open_handle opens (a pool's session)."""
        self = cls.__new__(cls)
        self._start(conn_str, described, open_handle, autocommit, pool)
        return self

    def _start(self, conn_str: str, described: str, open_handle: _proto.Op[int], autocommit: bool,
               pool: Any = None) -> None:
        self._handle = 0
        self._pool: Any = pool  # the ConnectionPool it came from
        self._lock = _SessionLock()  # raises InterfaceError, not waits, in a forked child
        self._autocommit = True  # as the library opens sessions
        self._streaming: Optional[weakref.ReferenceType[Cursor]] = None
        self._described = described
        self._conn_str = conn_str  # holds secrets: never shown
        self.row_factory: RowFactory = tuple_row
        """The row factory of the connection's new cursors (lakelink.rows; tuple_row by default)."""
        _native.lib()  # in a forked child: InterfaceError, before anything
        self._handle = open_handle.run()
        if autocommit:
            return
        try:
            with self._lock:
                self._step(_proto.AUTOCOMMIT_OFF)
        except BaseException:
            self.close()
            raise
        self._autocommit = False

    # ---- internals used by cursors ----

    def _check(self) -> int:
        if not self._handle:
            raise errors.InterfaceError("the connection is closed")
        return self._handle

    def _step(self, step: int) -> None:
        _proto.Step(self._check(), step).run()

    def _release_stream(self, keep: Optional[Cursor]) -> None:
        """Makes the streaming cursor (if it is not keep) buffer its rows. Call with the lock held."""
        ref = self._streaming
        if ref is None:
            return
        cur = ref()
        if cur is None or cur is keep:
            return
        cur._buffer_rest()

    # ---- PEP 249 ----

    def cursor(self, *, row_factory: Optional[RowFactory] = None) -> Cursor:
        """A new cursor on this connection; row_factory (lakelink.rows) defaults to the connection's."""
        self._check()
        return Cursor(self, row_factory)

    def commit(self) -> None:
        """Commits the current transaction (if any)."""
        with self._lock:
            self._release_stream(None)
            self._step(_proto.COMMIT)

    def rollback(self) -> None:
        """Rolls back the current transaction (if any)."""
        with self._lock:
            self._release_stream(None)
            self._step(_proto.ROLLBACK)

    def cancel(self) -> None:
        """Asks the server to cancel the running statement (call it from another thread)."""
        self._step(_proto.CANCEL)

    def close(self) -> None:
        """Closes the connection (rolling back an open transaction). Closing twice is allowed.

        It ends the server session; a connection from a :class:`ConnectionPool`
        goes back to its pool instead, unless an error on it said the session
        was lost (SQLSTATE class 08 or 57P, or the library's InterfaceError,
        or its OperationalError without a SQLSTATE: the server did not
        answer): that session is ended (lakelink_discard), as psycopg_pool
        discards a broken connection, and the pool opens another when needed.
        """
        if not self._handle:
            return
        with self._lock:
            if not self._handle:
                return
            ref = self._streaming
            cur = ref() if ref is not None else None
            if cur is not None:
                cur._discard()
            h, self._handle = self._handle, 0
            _proto.Step(h, _proto.DISCARD if self._lock.lost else _proto.CLOSE).run()

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return not self._handle

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits at once (default False)."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, on: bool) -> None:
        with self._lock:
            self._release_stream(None)
            self._step(_proto.AUTOCOMMIT_ON if on else _proto.AUTOCOMMIT_OFF)
            self._autocommit = bool(on)

    def execute(self, sql: str, params: Any = None) -> Cursor:
        """A shortcut (as in psycopg 3): a new cursor, executed and returned (``conn.execute(sql).fetchall()``)."""
        cur = self.cursor()
        cur.execute(sql, params)
        return cur

    def __enter__(self) -> Connection:
        self._check()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        """Commits on success, rolls back on an exception, then closes (as psycopg 3)."""
        if self.closed:
            return
        try:
            if exc_type is None:
                self.commit()
            else:
                try:
                    self.rollback()
                except errors.Error:
                    pass
        finally:
            self.close()

    def __del__(self) -> None:
        try:
            if self._handle:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<lakelink.Connection {state} {self._described}>"

    __str__ = __repr__


class _SessionLock(_native.Lock):
    """A connection's lock (every call on its session holds it), which notes whether an error
    raised under it said that the session was lost: close() then ends the session rather than
    giving it back to its pool."""

    __slots__ = ("lost",)

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if isinstance(exc, errors.Error) and _lost(exc):
            self.lost = True
        super().__exit__(exc_type, exc, tb)


def _lost(e: errors.Error) -> bool:
    """Whether e, raised by a call on a session, says the session is lost: a SQLSTATE of class 08
    (connection exception) or 57P (the server ended it), or an error of the library (code set)
    that is an InterfaceError, or an OperationalError without a SQLSTATE (no answer from the server:
    the library says "conn closed")."""
    if e.sqlstate:
        return e.sqlstate.startswith(("08", "57P"))
    return e.code != 0 and (isinstance(e, errors.InterfaceError) or
                            (isinstance(e, errors.OperationalError) and e.code == errors.ERR_DATABASE))


def describe(conn_str: str) -> str:
    """The normalized connection string (secrets as ***), for repr; never raises."""
    try:
        return repr(str(_proto.normalize(conn_str).get("normalized", "")))
    except errors.Error:
        return "(invalid connection string)"
    except Exception:
        return "(connection string not shown)"


def connect(connection_string: Optional[str] = None, *, autocommit: bool = False, **overrides: Any) -> Connection:
    """Opens a Lakebase connection.

    ``connection_string`` is ``Key=Value;...`` (README.md); keyword
    overrides take the same property names (``connect(s, Database="x")``)
    and replace those keys. ``autocommit`` as psycopg's (PEP 249's default:
    off). The credential is minted and renewed inside.
    """
    return Connection(_connstr.build(connection_string, overrides), autocommit)
