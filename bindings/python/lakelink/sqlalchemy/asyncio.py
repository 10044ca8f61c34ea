"""The ``postgresql+lakelink_async`` dialect: :class:`LakelinkDialect` over :mod:`lakelink.aio`.

Adapted as SQLAlchemy's psycopg async dialect is: the AsyncAdapt_* classes of
``sqlalchemy.connectors.asyncio`` give SQLAlchemy's synchronous core a DB-API face over
the awaited calls (run in SQLAlchemy's greenlet). A cursor buffers its result when
executed, except a server-side one (``stream_results``, ``AsyncConnection.stream()``),
which fetches batch by batch as the rows are read.
"""

from __future__ import annotations

import collections
from types import ModuleType
from typing import Any, Optional

from sqlalchemy.connectors.asyncio import (AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_cursor,
                                           AsyncAdapt_dbapi_module, AsyncAdapt_dbapi_ss_cursor, AsyncAdapt_terminate)
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.util.concurrency import await_

from .base import LakelinkDialect, LakelinkExecutionContext


class AsyncAdapt_lakelink_cursor(AsyncAdapt_dbapi_cursor):
    """A lakelink.aio cursor behind SQLAlchemy's blocking cursor interface; the result is read at execute."""

    __slots__ = ()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        # lakelink.aio's connection serializes its calls itself: no second mutex (as for psycopg).
        result = await self._cursor.execute(operation, parameters)
        if self._cursor.description is not None and not self.server_side:
            self._rows = collections.deque(await self._cursor.fetchall())
        return result

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._cursor.executemany(operation, seq_of_parameters)


class AsyncAdapt_lakelink_ss_cursor(AsyncAdapt_dbapi_ss_cursor, AsyncAdapt_lakelink_cursor):
    """A streaming cursor: each fetch awaits the next rows (lakelink reads them batch by batch)."""

    __slots__ = ()


class AsyncAdapt_lakelink_connection(AsyncAdapt_terminate, AsyncAdapt_dbapi_connection):
    """A lakelink.aio.AsyncConnection behind SQLAlchemy's blocking connection interface."""

    __slots__ = ()
    _cursor_cls = AsyncAdapt_lakelink_cursor
    _ss_cursor_cls = AsyncAdapt_lakelink_ss_cursor

    @property
    def closed(self) -> bool:
        return bool(self._connection.closed)

    @property
    def autocommit(self) -> bool:
        return bool(self._connection.autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        await_(self._connection.set_autocommit(value))

    async def _terminate_graceful_close(self) -> None:
        await self._connection.close()

    def _terminate_force_close(self) -> None:
        """Outside a greenlet (garbage collection): lakelink.aio's finalizer ends the session."""


class LakelinkAsyncAdaptDBAPI(AsyncAdapt_dbapi_module):
    """lakelink's DB-API module (its exceptions, types and paramstyle) whose connect() opens a
    lakelink.aio connection: ``connect(connection_string=None, **properties)`` as lakelink.connect."""

    def __init__(self) -> None:
        import lakelink
        import lakelink.aio

        super().__init__(lakelink.aio, dbapi_module=lakelink)
        for name in ("paramstyle", "apilevel", "threadsafety", *lakelink.__all__):
            if name not in ("connect", "BearerAuth", "HttpxAuth"):
                self.__dict__[name] = getattr(lakelink, name)
        self._aio = lakelink.aio

    def connect(self, connection_string: Optional[str] = None, **properties: Any) -> AsyncAdapt_lakelink_connection:
        opening: Any = self._aio.connect(connection_string=connection_string, **properties)
        return await_(AsyncAdapt_lakelink_connection.create(self, opening))


class LakelinkAsyncExecutionContext(LakelinkExecutionContext):
    def create_server_side_cursor(self) -> DBAPICursor:
        return self._dbapi_connection.cursor(server_side=True)


class LakelinkAsyncDialect(LakelinkDialect):
    """``postgresql+lakelink_async://``: URLs and connect_args as for :class:`LakelinkDialect`; use it with
    ``sqlalchemy.ext.asyncio.create_async_engine``."""

    is_async = True
    supports_statement_cache = True
    execution_ctx_cls = LakelinkAsyncExecutionContext

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        return LakelinkAsyncAdaptDBAPI()  # type: ignore[return-value]

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection


dialect = LakelinkAsyncDialect
