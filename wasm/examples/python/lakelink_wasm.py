"""A host for lakelink.wasm in Python, with the wasmtime package.

The module's lakelink.http import is served with http.client (no redirect
is followed: the core decides about them). Everything else, the token
cache, the OAuth flows, the App diagnosis, credential minting, is the
core's, inside the module.

    lakelink = Lakelink("build/out/lakelink.wasm")
    token = lakelink.call({"op": "token", "conn": "Host=...;OAuthClientId=...;OAuthClientSecret=..."})
"""

from __future__ import annotations

import base64
import errno
import http.client
import json
import socket
import urllib.parse
from typing import Any

import wasmtime


class LakelinkError(Exception):
    """An error the module answered: the fields of lakelink_error."""

    def __init__(self, error: dict[str, Any], result: Any = None) -> None:
        super().__init__(error["message"])
        self.code: int = error["code"]
        self.sqlstate: str = error["sqlstate"]
        self.diagnosis: str = error["diagnosis"]
        self.http_status: int = error["http_status"]
        self.kind: str = error["kind"]
        self.detail: str = error.get("detail", "")  # the server's DETAIL of a database error
        self.hint: str = error.get("hint", "")
        self.result = result  # an app call's response, when there was one


def serve_http(request: dict[str, Any]) -> dict[str, Any]:
    """Sends one lakelink.http request (wasm/README.md) and returns its answer, never raising."""
    try:
        url = urllib.parse.urlsplit(request["url"])
        timeout = request.get("timeout_ms") or None
        conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(url.hostname or "", url.port, timeout=timeout / 1000 if timeout else None)
        try:
            path = (url.path or "/") + ("?" + url.query if url.query else "")
            headers = {name: ", ".join(values) for name, values in (request.get("headers") or {}).items()}
            body = base64.b64decode(request["body"]) if request.get("body") else None
            conn.request(request["method"], path, body=body, headers=headers)
            resp = conn.getresponse()
            content = resp.read()
            answer: dict[str, list[str]] = {}
            for name, value in resp.getheaders():
                answer.setdefault(name, []).append(value)
            return {"status": resp.status, "headers": answer, "body": base64.b64encode(content).decode()}
        finally:
            conn.close()
    except Exception as e:  # the module reports it as a network error, diagnosed from the code first
        return {"error": error_text(e)}


def error_text(e: Exception) -> str:
    """The import's error text (wasm/README.md): "CODE: text", the errno's name first when there is one."""
    if isinstance(e, TimeoutError) or isinstance(e, OSError) and e.errno == errno.ETIMEDOUT:
        return f"ETIMEDOUT: {e}"
    if isinstance(e, OSError) and e.errno in errno.errorcode:
        return f"{errno.errorcode[e.errno]}: {e}"
    if isinstance(e, socket.gaierror) and e.errno == socket.EAI_NONAME:
        return f"ENOTFOUND: {e}"
    return f"{type(e).__name__}: {e}"


def fast_config() -> wasmtime.Config:
    """A wasmtime Config that compiles lakelink.wasm once per machine (wasmtime's cache, in ~/.cache/wasmtime)."""
    config = wasmtime.Config()
    config.cache = True
    return config


class Lakelink:
    """One instance of lakelink.wasm: its own token cache. Not thread-safe: call it from one thread.

    config is wasmtime's: compiling the module takes Cranelift tens of
    seconds, so give one with cache = True (compiled once per machine) or
    cranelift_opt_level = "none" (about 3x faster to compile; the module
    mostly waits on HTTP) -- see fast_config. A trap ends the instance:
    make a new Lakelink then.
    """

    def __init__(self, path: str, env: dict[str, str] | None = None, config: wasmtime.Config | None = None) -> None:
        engine = wasmtime.Engine(config) if config else wasmtime.Engine()
        self._store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.env = list((env or {}).items())
        wasi.inherit_stderr()
        self._store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        http_type = wasmtime.FuncType([wasmtime.ValType.i32(), wasmtime.ValType.i32()], [wasmtime.ValType.i64()])
        linker.define_func("lakelink", "http", http_type, self._http, access_caller=True)
        instance = linker.instantiate(self._store, wasmtime.Module.from_file(engine, path))
        self._exports = instance.exports(self._store)
        self._exports["_initialize"](self._store)  # a reactor: starts the Go runtime

    def _lend(self, store: Any, data: bytes) -> int:
        """Copies data into a buffer from lakelink_alloc: address<<32 | length, as a signed i64."""
        p = self._exports["lakelink_alloc"](store, len(data)) & 0xFFFFFFFF
        self._exports["memory"].write(store, data, p)
        packed = p << 32 | len(data)
        return packed - (1 << 64) if packed >= 1 << 63 else packed

    def _http(self, caller: wasmtime.Caller, p: int, n: int) -> int:
        p, n = p & 0xFFFFFFFF, n & 0xFFFFFFFF
        request = json.loads(bytes(self._exports["memory"].read(caller, p, p + n)))
        return self._lend(caller, json.dumps(serve_http(request)).encode())

    def raw(self, request: dict[str, Any]) -> dict[str, Any]:
        """lakelink_call: the response JSON, {"result": ...} and/or {"error": ...}."""
        packed = self._lend(self._store, json.dumps(request).encode()) & 0xFFFFFFFFFFFFFFFF
        out = self._exports["lakelink_call"](self._store, packed >> 32, packed & 0xFFFFFFFF) & 0xFFFFFFFFFFFFFFFF
        p, n = out >> 32, out & 0xFFFFFFFF
        response = json.loads(bytes(self._exports["memory"].read(self._store, p, p + n)))
        self._exports["lakelink_free"](self._store, p)
        return response  # type: ignore[no-any-return]

    def call(self, request: dict[str, Any]) -> Any:
        """lakelink_call: the result, or LakelinkError."""
        response = self.raw(request)
        if response.get("error"):
            raise LakelinkError(response["error"], response.get("result"))
        return response.get("result")
