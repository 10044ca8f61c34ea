"""lakelink.HttpxAuth: an httpx.Auth (needs httpx)."""

from __future__ import annotations

from typing import Any, Generator, Optional

import httpx

from . import _connstr
from .apps import token as _token


class HttpxAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <token>`` for a connection string on each request (sync clients).

    >>> httpx.get(url, auth=lakelink.HttpxAuth("Host=...;OAuthClientId=...;OAuthClientSecret=..."))
    """

    def __init__(self, connection_string: Optional[str] = None, **properties: Any) -> None:
        self._conn_str = _connstr.build(connection_string, properties)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer " + _token(self._conn_str).access_token
        yield request

    def __repr__(self) -> str:
        return "<lakelink.HttpxAuth>"
