"""Databricks Apps and tokens for asyncio: lakelink.App and lakelink.token, awaited."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from .. import _connstr, _proto, apps
from ..apps import Response, Token
from ._loop import completions


async def token(connection_string: Optional[str] = None, **properties: Any) -> Token:
    """An access token for the connection string, as :func:`lakelink.token`, without blocking the loop."""
    return apps.as_token(await completions().call(_proto.GetToken(_connstr.build(connection_string, properties))))


class App:
    """A Databricks App's /api/ routes, as :class:`lakelink.App`, with awaited calls.

    >>> app = lakelink.aio.App("https://my-app-123.databricksapps.com", conn_str)
    >>> (await app.get("/api/whoami")).json()
    """

    def __init__(self, url: str, connection_string: Optional[str] = None, **properties: Any) -> None:
        self._app = apps.App(url, connection_string, **properties)

    @classmethod
    def _of(cls, app: apps.App) -> App:
        a = cls.__new__(cls)
        a._app = app
        return a

    @property
    def url(self) -> str:
        """The app's base URL, as given."""
        return self._app.url

    def as_user(self, token: Any) -> App:
        """This App, calling as an App user (see :meth:`lakelink.App.as_user`)."""
        return App._of(self._app.as_user(token))

    async def request(self, method: str, path: str, *, json: Any = None,
                      data: Union[bytes, str, Mapping[str, Any], None] = None,
                      headers: Optional[Mapping[str, str]] = None,
                      params: Optional[Mapping[str, Any]] = None) -> Response:
        """Sends method to path and returns the response (see :meth:`lakelink.App.request`)."""
        op, url = self._app._request_op(method, path, json=json, data=data, headers=headers, params=params)
        return apps.response(await completions().call(op), url)

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, **kwargs)

    def __repr__(self) -> str:
        return repr(self._app).replace("<lakelink.App", "<lakelink.aio.App", 1)
