"""The Lakebase credential for Postgres drivers of one's own: psycopg, psycopg_pool, asyncpg, psycopg2, SQLAlchemy, Django.

The core mints it, caches it per identity and renews it ahead of expiry
(lakelink_lakebase_credential): ask for it before every new login, never
keep the password. The helpers here turn it into each driver's arguments;
bindings/python/README.md shows the one-line adapter of each.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Optional

from . import _connstr, _native

if TYPE_CHECKING:
    import psycopg

__all__ = ["LakebaseCredential", "lakebase_credential", "lakebase_password", "asyncpg_kwargs",
           "psycopg_connection_class", "psycopg_async_connection_class"]


@dataclass(frozen=True)
class LakebaseCredential:
    """A Lakebase login: the connection parameters and a password the core minted (a secret, left out of repr).

    ``sslrootcert`` is libpq's: the CA file to check the server with (the
    connection string's SSLServerCert file; PEM text given there is written
    once to a file named by its hash under the user's cache directory; for
    verify-full/verify-ca without one, the system's CA bundle), None when the
    certificate is not checked. ``expires_at`` (aware, UTC) is when the
    password expires, None when unknown (a Password given, a personal access
    token). ``application_name`` is the connection string's ApplicationName,
    None when not given.
    """

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    sslmode: str
    sslrootcert: Optional[str]
    expires_at: Optional[_dt.datetime]
    application_name: Optional[str]

    def psycopg_kwargs(self) -> dict[str, Any]:
        """libpq's keywords: ``psycopg.connect(**kw)``, ``psycopg2.connect(**kw)``, SQLAlchemy's ``cparams``."""
        kw: dict[str, Any] = {"host": self.host, "port": self.port, "dbname": self.database, "user": self.user,
                              "password": self.password, "sslmode": self.sslmode}
        if self.sslrootcert:
            kw["sslrootcert"] = self.sslrootcert
        if self.application_name:
            kw["application_name"] = self.application_name
        return kw

    def asyncpg_kwargs(self) -> dict[str, Any]:
        """``asyncpg.connect``'s keywords, the TLS settings as an ``ssl.SSLContext`` (asyncpg takes no CA file)."""
        kw: dict[str, Any] = {"host": self.host, "port": self.port, "database": self.database, "user": self.user,
                              "password": self.password, "ssl": self._ssl_context()}
        if self.application_name:
            kw["server_settings"] = {"application_name": self.application_name}
        return kw

    def _ssl_context(self) -> Any:
        """asyncpg's ``ssl``: False for disable, a context that checks what sslmode checks otherwise."""
        import ssl

        if self.sslmode == "disable":
            return False
        cafile = self.sslrootcert if self.sslrootcert and self.sslrootcert != "system" else None
        ctx = ssl.create_default_context(cafile=cafile)
        if self.sslmode != "verify-full":
            ctx.check_hostname = False
        if self.sslmode not in ("verify-full", "verify-ca"):  # require: encrypted, not checked
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def lakebase_credential(connection_string: Optional[str] = None, **overrides: Any) -> LakebaseCredential:
    """The current Lakebase login for the connection string (Server with Instance or Endpoint, or neither: the
    workspace token is the password), minted or reused from the process' cache, renewed ahead of expiry.

    Call it before every new login of your driver: it costs a lookup while the
    credential is fresh. Without a connection string, the identity comes from
    the environment (inside a Databricks App, DATABRICKS_*); keyword overrides
    set or (None) remove connection string properties, as for ``connect``.
    """
    return _credential(_connstr.build(connection_string, overrides))


def _credential(conn_str: str) -> LakebaseCredential:
    out, err = ctypes.c_void_p(), _native.error_out()
    lib = _native.lib()
    _native.raise_for(lib.lakelink_lakebase_credential(_native.cstr(conn_str), ctypes.byref(out),
                                                       ctypes.byref(err)), err)
    d = json.loads(_native.take_string(out))
    expires = d["expires_at"]
    return LakebaseCredential(
        host=d["host"], port=int(d["port"]), database=d["database"], user=d["user"], password=d["password"],
        sslmode=d["sslmode"], sslrootcert=d["sslrootcert"] or None,
        expires_at=_dt.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
        if expires else None,
        application_name=d["application_name"] or None)


def lakebase_password(connection_string: Optional[str] = None,
                      **overrides: Any) -> Callable[[], Coroutine[Any, Any, str]]:
    """An async function returning the current password (from a worker thread: the event loop never waits on a
    renewal), for a driver that asks for the password at each login: asyncpg's ``password=``."""
    import asyncio

    cs = _connstr.build(connection_string, overrides)

    async def password() -> str:
        return (await asyncio.to_thread(_credential, cs)).password

    return password


def asyncpg_kwargs(connection_string: Optional[str] = None, **overrides: Any) -> dict[str, Any]:
    """``asyncpg.connect``'s and ``asyncpg.create_pool``'s keywords, with ``password`` a function that gives a
    fresh password at every login (lakebase_password): a pool's new connections keep working past expiry.

    It asks for the credential once, now, for the rest (a blocking call: do it at start-up).
    """
    cs = _connstr.build(connection_string, overrides)
    return {**_credential(cs).asyncpg_kwargs(), "password": lakebase_password(cs)}


def psycopg_connection_class(connection_string: Optional[str] = None,
                             **overrides: Any) -> type[psycopg.Connection[Any]]:
    """A ``psycopg.Connection`` subclass whose ``connect()`` logs in with the current Lakebase credential:
    ``psycopg_pool.ConnectionPool(connection_class=...)`` (every new connection gets a fresh password; the pool's
    ``kwargs`` cannot be a function), or ``.connect()`` itself. Keywords given to connect (row_factory,
    autocommit, ...) pass on; the credential's parameters replace the pool's host, user and password."""
    import psycopg

    cs = _connstr.build(connection_string, overrides)

    class LakebaseConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            return super().connect(conninfo, **{**kwargs, **_credential(cs).psycopg_kwargs()})

    return LakebaseConnection


def psycopg_async_connection_class(connection_string: Optional[str] = None,
                                   **overrides: Any) -> type[psycopg.AsyncConnection[Any]]:
    """psycopg_connection_class for ``psycopg.AsyncConnection`` (``psycopg_pool.AsyncConnectionPool``); the
    credential is asked for in a worker thread, so the event loop never waits on a renewal."""
    import asyncio

    import psycopg

    cs = _connstr.build(connection_string, overrides)

    class LakebaseAsyncConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            cred = await asyncio.to_thread(_credential, cs)
            return await super().connect(conninfo, **{**kwargs, **cred.psycopg_kwargs()})

    return LakebaseAsyncConnection
