"""lakelink for asyncio: Lakebase sessions, pools, App calls and tokens, awaited.

>>> conn = await lakelink.aio.connect("Host=...;OAuthClientId=...;OAuthClientSecret=...;Server=...;Instance=db")
>>> cur = await conn.execute("SELECT now()")
>>> await cur.fetchone()

The event loop never blocks and no thread is borrowed per call: each call
starts on the library's own threads and its completion is signalled
through a file descriptor the loop watches (lakelink.h, "Asynchronous
calls"). Cancelling a task that awaits a statement cancels the statement
on the server (SQLSTATE 57014, the CancelledError's ``__cause__``); the
connection stays usable.
"""

from __future__ import annotations

from ._apps import App, token
from ._connection import AsyncConnection, connect
from ._copy import AsyncCopy
from ._cursor import AsyncCursor
from ._pool import AsyncConnectionPool
from ..apps import Response, Token

__all__ = ["connect", "AsyncConnection", "AsyncCursor", "AsyncCopy", "AsyncConnectionPool", "App", "Response", "Token",
           "token"]
