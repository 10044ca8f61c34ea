"""The CData connectors' OAuth procedures, returning dicts with their field names."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Mapping, Optional

from . import _connstr, _native

__all__ = ["get_oauth_authorization_url", "get_oauth_access_token", "refresh_oauth_access_token"]


def _json_call(fn: Any, *args: Any) -> dict[str, Any]:
    p, err = ctypes.c_void_p(), _native.error_out()
    _native.raise_for(fn(*args, ctypes.byref(p), ctypes.byref(err)), err)
    out: dict[str, Any] = json.loads(_native.take_string(p))
    return out


def get_oauth_authorization_url(connection_string: Optional[str] = None, *, callback_url: Optional[str] = None,
                                scope: Optional[str] = None, state: Optional[str] = None,
                                **properties: Any) -> dict[str, Any]:
    """GetOAuthAuthorizationUrl: ``{"URL", "State", "PKCEVerifier"}`` (keep PKCEVerifier secret until the exchange)."""
    c = _native.cstr
    return _json_call(_native.lib().lakelink_oauth_authorization_url,
                      c(_connstr.build(connection_string, properties)), c(callback_url), c(scope), c(state))


def get_oauth_access_token(connection_string: Optional[str] = None, *, verifier: Optional[str] = None,
                           auth_mode: str = "WEB", callback_url: Optional[str] = None, state: Optional[str] = None,
                           pkce_verifier: Optional[str] = None, **properties: Any) -> dict[str, Any]:
    """GetOAuthAccessToken: ``{"OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn", "Scope"}``.

    auth_mode "WEB" exchanges verifier (the code, or the whole callback URL,
    whose state must be ``state`` when given and whose ``error=`` is raised
    as the server's refusal) with pkce_verifier and callback_url; "APP" runs
    the browser flow.
    """
    c = _native.cstr
    return _json_call(_native.lib().lakelink_oauth_access_token,
                      c(_connstr.build(connection_string, properties)), c(verifier), c(auth_mode), c(callback_url),
                      c(state), c(pkce_verifier))


def refresh_oauth_access_token(connection_string: Optional[str] = None, refresh_token: Optional[str] = None,
                               **properties: Any) -> dict[str, Any]:
    """RefreshOAuthAccessToken: as get_oauth_access_token; keep the new refresh token (the old one is spent)."""
    c = _native.cstr
    return _json_call(_native.lib().lakelink_oauth_refresh,
                      c(_connstr.build(connection_string, properties)), c(refresh_token))


def call_procedure(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Runs a procedure by its CData name with CData input names (for Cursor.callproc)."""
    low = {k.lower(): v for k, v in inputs.items()}
    conn = low.pop("connectionstring", None) or low.pop("connection_string", None)
    n = name.lower()
    if n == "getoauthauthorizationurl":
        return get_oauth_authorization_url(conn, callback_url=low.get("callbackurl"), scope=low.get("scope"),
                                           state=low.get("state"))
    if n == "getoauthaccesstoken":
        return get_oauth_access_token(conn, verifier=low.get("verifier"), auth_mode=low.get("authmode") or "WEB",
                                      callback_url=low.get("callbackurl"), state=low.get("state"),
                                      pkce_verifier=low.get("pkceverifier"))
    return refresh_oauth_access_token(conn, low.get("oauthrefreshtoken"))
