"""Databricks Apps: calls with a bearer token the core gets, caches and renews."""

from __future__ import annotations

import datetime as _dt
import json as _json
import re
import urllib.parse
from typing import Any, Mapping, NamedTuple, Optional, Union

from . import _connstr, _proto, errors
from .errors import AppError

__all__ = ["App", "Response", "Token", "token", "user_token", "AppError", "USER_TOKEN_HEADER"]


class Response:
    """An app's answer: ``status``, ``headers`` (name -> first value), ``content``, ``text``, ``json()``.

    ``url`` is the reference that was requested, as given (with ``params``).
    """

    def __init__(self, status: int, headers: Mapping[str, list[str]], content: bytes, url: str) -> None:
        self.status = status
        self.status_code = status  # the requests name
        self.header_lists: dict[str, list[str]] = {k: list(v) for k, v in headers.items()}
        self.headers: dict[str, str] = _CIDict((k, v[0] if v else "") for k, v in headers.items())
        self.content = content
        self.url = url

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<lakelink.Response [{self.status}] {self.url}>"


class _CIDict(dict):  # type: ignore[type-arg]
    """A dict whose str keys are looked up case-insensitively."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for k, v in items:
            self[k] = v

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class Token(NamedTuple):
    """An access token (a secret) and its expiry (None when unknown). Unpacks as (token, expires_at)."""

    access_token: str
    expires_at: Optional[_dt.datetime]

    def __repr__(self) -> str:
        return f"Token(access_token='***', expires_at={self.expires_at!r})"

    def __str__(self) -> str:
        return self.__repr__()


def token(connection_string: Optional[str] = None, **properties: Any) -> Token:
    """An access token for the connection string (renewed ahead of expiry, shared per identity).

    Without a connection string the core's default chain applies (inside a
    Databricks App, the injected DATABRICKS_* service principal).
    """
    return as_token(_proto.GetToken(_connstr.build(connection_string, properties)).run())


def as_token(answer: _proto.TokenAnswer) -> Token:
    """The Token of lakelink_token's answer (sync and async)."""
    expires = _dt.datetime.fromtimestamp(answer.expires, _dt.timezone.utc) if answer.expires else None
    return Token(answer.token, expires)


#: The header in which Databricks Apps forward the signed-in user's access token
#: to an app with user authorization on.
USER_TOKEN_HEADER = "X-Forwarded-Access-Token"
_WSGI_KEY = "HTTP_X_FORWARDED_ACCESS_TOKEN"
_MAX_USER_TOKEN = 64 << 10


def user_token(request: Any) -> str:
    """The access token of the App user who sent request (its X-Forwarded-Access-Token header).

    request is a Starlette or FastAPI ``Request``, a Flask (Werkzeug) or Django
    request, an ASGI scope, a WSGI environ, or a mapping of headers (names in
    any case). With user authorization on (Databricks Apps > the app >
    Configure > User authorization), the platform sets the header to a token
    of the signed-in user, restricted to the API scopes the app asked for.
    Use it for this request (``pool.connection(as_user=...)``,
    ``App(url).as_user(...)``); do not store it.

    Raises :class:`AppError` (kind ``no_user_token``) when the header is
    missing or empty, and (kind ``bad_user_token``) for more than one value
    (two header lines, or a comma-separated list, as a WSGI server joins
    them) or a value over 64 KiB; no message repeats the value. Whether the
    value has a bearer token's shape is checked by the library where the
    token is used (``pool.connection(as_user=...)`` raises
    :class:`~lakelink.InterfaceError` for one that has not).
    """
    values = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in _header_values(request)]
    if len(values) > 1:
        raise _bad_user_token(f"{len(values)} {USER_TOKEN_HEADER} headers: a request carries one user's token; "
                              "send the request through the Apps platform, which sets the header itself")
    value = values[0] if values else ""
    if len(value) > _MAX_USER_TOKEN:  # not read further
        raise _bad_user_token(f"{USER_TOKEN_HEADER} header: the value is over {_MAX_USER_TOKEN >> 10} KiB, "
                              "more than an access token may be")
    if "," in value:  # one field's list of values (RFC 9110 5.3), as a WSGI server joins two header lines
        raise _bad_user_token(f"{USER_TOKEN_HEADER} header: the value is a comma-separated list: a request "
                              "carries one user's token")
    return as_user_token(value)


def as_user_token(token_or_request: Any) -> str:
    """An as_user argument's token: the token itself (a str), or read from a request with user_token.
    None or "" (a header that was not there) raises the missing header's AppError."""
    if token_or_request is None:
        token_or_request = ""
    if not isinstance(token_or_request, str):
        return user_token(token_or_request)
    if not token_or_request:
        raise AppError(f"no {USER_TOKEN_HEADER} header: turn on user authorization for the app (Databricks Apps > "
                       "the app > Configure > User authorization) and add the API scopes it needs",
                       kind="no_user_token", code=errors.ERR_INVALID_ARGUMENT)
    return token_or_request


def _bad_user_token(message: str) -> AppError:
    return AppError(message, kind="bad_user_token", code=errors.ERR_INVALID_ARGUMENT)


def _header_values(request: Any) -> list[Any]:
    """The values of the user token header in request (see user_token for what request may be)."""
    headers = getattr(request, "headers", None)  # a request object (Starlette's is a Mapping too: of its scope)
    if headers is not None:
        request = headers
    if isinstance(request, Mapping) and ("wsgi.version" in request or _WSGI_KEY in request):
        value = request.get(_WSGI_KEY)
        return [] if value is None else [value]
    if isinstance(request, Mapping) and request.get("type") in ("http", "websocket") \
            and isinstance(request.get("headers"), (list, tuple)):  # an ASGI scope: (name, value) byte pairs
        wanted = USER_TOKEN_HEADER.lower().encode()
        return [v for k, v in request["headers"] if bytes(k).lower() == wanted]
    getlist = getattr(request, "getlist", None)  # Werkzeug, Starlette
    if callable(getlist):
        return list(getlist(USER_TOKEN_HEADER))
    getall = getattr(request, "getall", None) or getattr(request, "get_all", None)  # multidict (aiohttp), email
    if callable(getall):
        return list(getall(USER_TOKEN_HEADER, []))
    if not isinstance(request, Mapping):
        raise TypeError("lakelink.user_token: expected a request (Starlette, FastAPI, Flask, Django), an ASGI "
                        f"scope, a WSGI environ or a mapping of headers, not {type(request).__name__}")
    values: list[Any] = []
    for k, v in request.items():
        name = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        if name.lower() == USER_TOKEN_HEADER.lower():
            values.extend(v if isinstance(v, (list, tuple)) else [v])
    return values


def response(answer: _proto.AppAnswer, url: str) -> Response:
    """The Response of an app call's answer; raises its error (carrying the response when the app answered)."""
    resp = Response(answer.status, answer.headers, answer.content, url)
    e = answer.error
    if e is not None:
        if isinstance(e, AppError):
            e.response = resp if e.status else None
        raise e
    return resp


class App:
    """A Databricks App's /api/ routes, called with a bearer token for a connection string.

    >>> app = lakelink.App("https://my-app-123.databricksapps.com", "Host=...;OAuthClientId=...;OAuthClientSecret=...")
    >>> app.get("/api/whoami").json()

    Failures raise :class:`AppError` with the HTTP status, the app's message
    and the core's diagnosis (expired token, missing CAN USE, wrong URL...).
    """

    def __init__(self, url: str, connection_string: Optional[str] = None, **properties: Any) -> None:
        #: The app's base URL, as given: the core checks it on each request, and sends the token nowhere else.
        self.url = url
        self._conn_str = _connstr.build(connection_string, properties)  # holds secrets: never shown
        self._as_user = False

    def __repr__(self) -> str:
        # Without a user name, password or query the URL may wrongly carry (the core refuses them).
        shown = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1", str(self.url))
        who = " as an App user" if self._as_user else ""
        return f"<lakelink.App {re.sub(r'[?][^#]*', '?[REDACTED]', shown)}{who}>"

    def as_user(self, token: Any) -> App:
        """This App, calling as an App user: with their access token (or a request
        carrying it, read with :func:`user_token`) rather than this App's credential.

        The calls carry only the scopes the user granted the app. The token is
        not renewed: make the App for the request that brought the token, and
        let it go with the request.
        """
        user = App.__new__(App)
        user.url = self.url
        user._conn_str = _connstr.build(self._conn_str, {"AuthScheme": "Token", "Token": as_user_token(token)})
        user._as_user = True
        return user

    def request(self, method: str, path: str, *, json: Any = None,
                data: Union[bytes, str, Mapping[str, Any], None] = None,
                headers: Optional[Mapping[str, str]] = None, params: Optional[Mapping[str, Any]] = None) -> Response:
        """Sends method to path and returns the response.

        path is resolved against the app's URL as RFC 3986 resolves a reference
        (``/api/items?next=https://x``), or is an absolute URL of the app. The
        core refuses, before sending, a URL of another scheme, host or port
        (``AppError`` of kind ``other_host``) or outside /api/ (``not_api_path``).
        """
        op, url = self._request_op(method, path, json=json, data=data, headers=headers, params=params)
        return response(op.run(), url)

    def _request_op(self, method: str, path: str, *, json: Any = None,
                    data: Union[bytes, str, Mapping[str, Any], None] = None,
                    headers: Optional[Mapping[str, str]] = None,
                    params: Optional[Mapping[str, Any]] = None) -> tuple[_proto.AppRequest, str]:
        """The library call for request's arguments (sync and async), and the reference requested."""
        url, hash_, fragment = path.partition("#")
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        url += hash_ + fragment
        hdrs = dict(headers or {})
        body: Optional[bytes] = None
        lower = {k.lower() for k in hdrs}
        if json is not None:
            body = _json.dumps(json).encode()
            if "content-type" not in lower:
                hdrs["Content-Type"] = "application/json"
        elif isinstance(data, Mapping):
            body = urllib.parse.urlencode(data, doseq=True).encode()
            if "content-type" not in lower:
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = bytes(data)
        op = _proto.AppRequest(self._conn_str, self.url, method.upper(), url, _json.dumps(hdrs) if hdrs else None,
                               body)
        return op, url

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)


