"""Pools of Lakebase sessions, in psycopg_pool's shape, over the core's pool (lakelink_pool_*)."""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from types import TracebackType
from typing import Any, Iterator, Optional, Type

from . import _connstr, _native, _proto, errors
from .apps import as_user_token
from .connection import Connection, describe

__all__ = ["ConnectionPool"]


class _OwnIdentity:
    """as_user's default: the pool's own identity. An explicit None is not it (a header that was missing)."""

    def __repr__(self) -> str:
        return "<the pool's own identity>"


_OWN: Any = _OwnIdentity()
_numbers = itertools.count(1)  # for pools' default names


class ConnectionPool:
    """A pool of Lakebase sessions, sized as psycopg_pool's ``ConnectionPool`` is.

    >>> pool = lakelink.ConnectionPool("Host=...;OAuthClientId=...;OAuthClientSecret=...;Server=...;Instance=db")
    >>> with pool.connection() as conn:
    ...     conn.execute("INSERT INTO t VALUES (1)")   # committed at the end of the block
    >>> with pool.connection(as_user=lakelink.user_token(request)) as conn:
    ...     conn.execute("SELECT * FROM orders").fetchall()   # as the App's user: their grants and row security

    The pool opens its first session now (a wrong host or credential fails
    here). Arguments left as None take the connection string's property
    named after them, else the default:

    - ``min_size`` (``MinConnections``, default 0): sessions kept open even when idle.
    - ``max_size`` (``MaxConnections``, 10): sessions at most, besides the users' sessions.
    - ``max_idle`` (``MaxIdleTime``, 600 s): a session idle this long is closed.
    - ``max_lifetime`` (``MaxLifetime``, 3600 s, with jitter): a session this old is
      replaced once idle, never during a query; well under Lakebase's 24 h idle
      timeout and 3-day maximum connection life.
    - ``timeout`` (``PoolTimeout``, 30 s): how long :meth:`connection` waits for a
      free session before it raises :class:`~lakelink.OperationalError`.
    - ``max_users`` (``MaxUsers``, 50): App users whose sessions the pool keeps
      (least recently used beyond that are closed); ``MaxUserConnections`` (2)
      sessions each, and ``UserIdleTime`` (600 s) for a user's sessions to be
      closed, are set in the connection string.

    ``name`` names the pool in its repr and errors (psycopg_pool's; default ``pool-N``).
    ``kwargs={"autocommit": True}`` (psycopg_pool's) gives sessions in
    autocommit mode; by default a session's statements run in a transaction
    until commit (the end of a ``with pool.connection()`` block commits).
    Other keyword arguments are connection string properties (as for
    :func:`lakelink.connect`). A pool may be shared between threads.
    """

    def __init__(self, connection_string: Optional[str] = None, *, min_size: Optional[int] = None,
                 max_size: Optional[int] = None, max_idle: Optional[float] = None,
                 max_lifetime: Optional[float] = None, timeout: Optional[float] = None,
                 max_users: Optional[int] = None, name: Optional[str] = None,
                 kwargs: Optional[dict[str, Any]] = None, **overrides: Any) -> None:
        self._handle = 0
        self._autocommit = connection_autocommit("lakelink.ConnectionPool", kwargs)
        #: The pool's name (psycopg_pool's), shown by repr: the name given, else ``pool-N``.
        self.name = name or f"pool-{next(_numbers)}"
        self._conn_str = pool_connection_string(
            connection_string, overrides, min_size=min_size, max_size=max_size, max_idle=max_idle,
            max_lifetime=max_lifetime, timeout=timeout, max_users=max_users)  # secrets: never shown
        self._described = describe(self._conn_str)
        self._handle = _proto.PoolOpen(self._conn_str).run()
        core = self._core_stats()
        self._min, self._timeout = int(core["min"]), float(core["timeout"])  # the pool's, defaults applied

    def _check(self) -> int:
        h = self._handle
        if not h:
            raise errors.InterfaceError("the pool is closed")
        return h

    def getconn(self, timeout: Optional[float] = None, *, as_user: Any = _OWN) -> Connection:
        """A session from the pool (psycopg_pool's ``getconn``); give it back with :meth:`putconn`
        (or its ``close()``).

        ``timeout`` is there for psycopg_pool's signature: the library waits
        for a free session as long as the pool's ``timeout`` (``PoolTimeout``),
        not per call, so another value raises :class:`~lakelink.NotSupportedError`.

        ``as_user`` is an App user's access token (or a request carrying it,
        read with :func:`lakelink.user_token`): the session is then one of
        that user's, logged in as them. Without it the session is the pool's
        own identity's; ``as_user=None`` (a header that was not there) raises
        the missing header's :class:`~lakelink.AppError`, never falling back
        to the pool's identity, whose grants row security does not limit.
        """
        token = None if as_user is _OWN else as_user_token(as_user)
        pool = self._check()
        if timeout is not None:
            check_timeout("lakelink.ConnectionPool", timeout, self._timeout)
        described = self._described + (" as an App user" if token is not None else "")
        return Connection._opened(self._conn_str, described, _proto.Acquire(pool, token), self._autocommit, self)

    def putconn(self, conn: Connection) -> None:
        """Gives a session back to the pool (the same as ``conn.close()``: an open transaction is rolled back;
        a session whose last error said it was lost is ended instead). ValueError for a connection of
        another pool, as psycopg_pool's."""
        check_own(self, conn._pool)
        conn.close()

    @contextlib.contextmanager
    def connection(self, timeout: Optional[float] = None, *, as_user: Any = _OWN) -> Iterator[Connection]:
        """A session for a ``with`` block, as psycopg_pool's: at the end of the block the
        transaction commits (rolls back on an exception) and the session goes back to the pool.

        ``timeout`` and ``as_user`` as in :meth:`getconn`.
        """
        with self.getconn(timeout, as_user=as_user) as conn:
            yield conn

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """psycopg_pool's ``open``: the pool opened when it was made, so this only checks it is
        not closed (a closed pool cannot be opened again), then waits as :meth:`wait` if ``wait``."""
        self._check()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> None:
        """Waits until ``min_size`` sessions are open and idle (psycopg_pool's ``wait``). If they
        are not within ``timeout`` seconds, closes the pool and raises
        :class:`~lakelink.OperationalError`."""
        deadline = time.monotonic() + timeout
        while self.get_stats()["pool_available"] < self._min:
            if time.monotonic() >= deadline:
                self.close()
                raise errors.OperationalError(f"lakelink.ConnectionPool {self.name!r}: {self._min} sessions "
                                              f"(min_size) not open after {timeout} s")
            time.sleep(0.02)

    def get_stats(self) -> dict[str, int]:
        """Counts, under psycopg_pool's names: ``pool_min``, ``pool_max``, ``pool_size``
        (sessions open), ``pool_available`` (idle), ``requests_waiting``; and ``users``
        (App users with sessions) and ``user_sessions`` (their sessions, open)."""
        return psycopg_stats(self._min, self._core_stats())

    def _core_stats(self) -> dict[str, Any]:
        """lakelink_pool_stats's counts and settings."""
        return _proto.pool_stats(self._check())

    def pop_stats(self) -> dict[str, int]:
        """:meth:`get_stats` (psycopg_pool's ``pop_stats``: the pool keeps no counters to reset)."""
        return self.get_stats()

    def close(self) -> None:
        """Closes the pool: idle sessions now, those in use when they are given back. Closing twice is allowed."""
        if not self._handle:
            return
        _native.lib()  # in a forked child: raises, the parent's pool untouched
        h, self._handle = self._handle, 0
        if not h:
            return
        _proto.pool_close(h)

    @property
    def closed(self) -> bool:
        """True once the pool is closed."""
        return not self._handle

    def __enter__(self) -> ConnectionPool:
        self._check()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_handle", 0):
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<lakelink.ConnectionPool {getattr(self, 'name', '')!r} {state} {getattr(self, '_described', '')}>"

    __str__ = __repr__


def connection_autocommit(pool_class: str, kwargs: Optional[dict[str, Any]]) -> bool:
    """A pool's ``kwargs`` (psycopg_pool's arguments of its connections), which may hold autocommit only."""
    extra = dict(kwargs or {})
    autocommit = bool(extra.pop("autocommit", False))
    if extra:
        raise TypeError(f"{pool_class}: kwargs may hold autocommit only, not {sorted(extra)} "
                        "(connection string properties are keyword arguments of the pool)")
    return autocommit


def check_timeout(pool_class: str, timeout: float, pool_timeout: float) -> None:
    """Raises NotSupportedError unless timeout (seconds), given for one getconn, is the pool's PoolTimeout:
    the library waits for a session as long as that for every call."""
    _seconds("timeout", timeout)  # a bad value is the same TypeError or ValueError as the pool's
    if abs(timeout - pool_timeout) > 1e-6:
        raise errors.NotSupportedError(
            f"{pool_class}: a timeout of {timeout} s for one call: the library waits for a session as long as "
            f"the pool's timeout (PoolTimeout) for every call; give timeout to {pool_class.rpartition('.')[2]}(...) "
            "instead")


def check_own(pool: Any, came_from: Any) -> None:
    """putconn's check (psycopg_pool's ValueError): the connection came from pool."""
    if came_from is not pool:
        raise ValueError(f"can't return connection to pool {pool.name!r}: "
                         + ("it comes from another pool" if came_from is not None else
                            "it doesn't come from any pool"))


def psycopg_stats(min_size: int, core: Optional[dict[str, Any]]) -> dict[str, int]:
    """get_stats's answer: lakelink_pool_stats's counts (None: the pool is not open) under psycopg_pool's names,
    and the App users' ``users`` and ``user_sessions``."""
    if core is None:
        return {"pool_min": min_size, "pool_max": 0, "pool_size": 0, "pool_available": 0, "requests_waiting": 0,
                "users": 0, "user_sessions": 0}
    return {"pool_min": min_size, "pool_max": core["max"], "pool_size": core["total"], "pool_available": core["idle"],
            "requests_waiting": core["waiting"], "users": core["users"], "user_sessions": core["user_sessions"]}


def pool_connection_string(connection_string: Optional[str], overrides: dict[str, Any], *,
                           min_size: Optional[int], max_size: Optional[int], max_idle: Optional[float],
                           max_lifetime: Optional[float], timeout: Optional[float],
                           max_users: Optional[int]) -> str:
    """A pool's connection string: connection_string with overrides and the sizes given (ConnectionPool's
    arguments, shared by lakelink.aio's pool), checked."""
    sizes = {
        "MinConnections": _count("min_size", min_size, 0),
        "MaxConnections": _count("max_size", max_size, 1),
        "MaxIdleTime": _seconds("max_idle", max_idle),
        "MaxLifetime": _seconds("max_lifetime", max_lifetime),
        "PoolTimeout": _seconds("timeout", timeout),
        "MaxUsers": _count("max_users", max_users, 1),
    }
    given = {k: v for k, v in sizes.items() if v is not None}
    out = _connstr.build(_connstr.build(connection_string, overrides), given)
    props = _properties(out)
    least = int(props.get("MinConnections", "0"))
    if "MaxConnections" in props and least > int(props["MaxConnections"]):
        raise ValueError(f"lakelink.ConnectionPool: min_size (MinConnections) {least} is more than "
                         f"max_size (MaxConnections) {props['MaxConnections']}")
    return out


def _count(name: str, value: Optional[int], least: int) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"lakelink.ConnectionPool: {name} must be an int, not {type(value).__name__}")
    if value < least:
        raise ValueError(f"lakelink.ConnectionPool: {name} must be at least {least}, not {value}")
    return str(value)


def _seconds(name: str, value: Optional[float]) -> Optional[str]:
    """value seconds as a Go duration ("600s", "0.5s") for the connection string."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"lakelink.ConnectionPool: {name} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value >= 1e-6):
        raise ValueError(f"lakelink.ConnectionPool: {name} must be a number of seconds greater than 0, not {value}")
    return f"{value:.6f}".rstrip("0").rstrip(".") + "s"


def _properties(conn_str: str) -> dict[str, str]:
    """The connection string's properties by canonical name (secrets as ***)."""
    props: dict[str, str] = _proto.normalize(conn_str).get("properties", {})
    return props
