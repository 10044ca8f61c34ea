"""lakelink: Databricks Apps and Lakebase with OAuth, over liblakelink.

PEP 249 (``lakelink.connect("Key=Value;...")``), pools
(``lakelink.ConnectionPool``, also as an App's users: ``user_token``), App calls
(``lakelink.App(url).get("/api/x")``), tokens (``lakelink.token()``), the Lakebase
credential for other drivers (``lakelink.lakebase_credential()``), the
CData OAuth procedures, and auth adapters for requests (``BearerAuth``) and
httpx (``HttpxAuth``), imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._native import version as library_version
from ._version import version as __version__
from .apps import USER_TOKEN_HEADER, App, Response, Token, token, user_token
from .connection import Connection, connect
from .cursor import Column, Cursor
from .errors import (AppError, DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
                     NotSupportedError, OperationalError, ProgrammingError, Warning)
from .oauth import get_oauth_access_token, get_oauth_authorization_url, refresh_oauth_access_token
from .pool import ConnectionPool
from .types import (BINARY, DATETIME, NUMBER, ROWID, STRING, Binary, Date, DateFromTicks, Json, Time, TimeFromTicks,
                    Timestamp, TimestampFromTicks)

if TYPE_CHECKING:
    from .credential import (LakebaseCredential, asyncpg_kwargs, lakebase_credential, lakebase_password,
                             psycopg_async_connection_class, psycopg_connection_class)

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"

__all__ = [
    "apilevel", "threadsafety", "paramstyle", "connect", "Connection", "ConnectionPool", "Cursor", "Column",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError", "IntegrityError",
    "InternalError", "ProgrammingError", "NotSupportedError", "AppError",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
    "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Json",
    "App", "Response", "Token", "token", "user_token", "USER_TOKEN_HEADER", "BearerAuth", "HttpxAuth",
    "get_oauth_authorization_url", "get_oauth_access_token", "refresh_oauth_access_token", "library_version",
    "LakebaseCredential", "lakebase_credential", "lakebase_password", "asyncpg_kwargs", "psycopg_connection_class",
    "psycopg_async_connection_class",
]


# lakelink.credential (dataclasses, ~8 ms): imported when first used.
_CREDENTIAL = frozenset({"LakebaseCredential", "lakebase_credential", "lakebase_password", "asyncpg_kwargs",
                         "psycopg_connection_class", "psycopg_async_connection_class"})


def __getattr__(name: str) -> Any:
    if name in _CREDENTIAL:
        from . import credential
        return getattr(credential, name)
    # The adapters import requests / httpx: only when asked for.
    if name == "BearerAuth":
        from ._requests import BearerAuth
        return BearerAuth
    if name == "HttpxAuth":
        from ._httpx import HttpxAuth
        return HttpxAuth
    raise AttributeError(f"module 'lakelink' has no attribute {name!r}")
