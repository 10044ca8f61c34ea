"""lakelink.BearerAuth: a requests.auth.AuthBase (needs requests)."""

from __future__ import annotations

from typing import Any, Optional

import requests.auth

from . import _connstr
from .apps import token as _token


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>`` for a connection string on each request.

    >>> requests.get(url, auth=lakelink.BearerAuth("Host=...;OAuthClientId=...;OAuthClientSecret=..."))
    """

    def __init__(self, connection_string: Optional[str] = None, **properties: Any) -> None:
        self._conn_str = _connstr.build(connection_string, properties)

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = "Bearer " + _token(self._conn_str).access_token
        return r

    def __repr__(self) -> str:
        return "<lakelink.BearerAuth>"
