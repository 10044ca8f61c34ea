"""The FastAPI example (examples/fastapi/app.py) started with uvicorn and called over HTTP, against the
emulator: the async SQLAlchemy engine's routes, and a route that runs as the calling user (the token
the Apps proxy forwards in X-Forwarded-Access-Token)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from emutil import add_user, forwarded_token

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fastapi"

# uvicorn app:app, after registering the dialects the wheel's entry points register (the test runs
# lakelink from the source tree).
LAUNCH = """
import sys
from sqlalchemy.dialects import registry
registry.register("postgresql.lakelink_async", "lakelink.sqlalchemy", "LakelinkAsyncDialect")
import uvicorn
uvicorn.run("app:app", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(lakebase_conn: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "LAKELINK_CONNECTION_STRING": lakebase_conn, "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(EXAMPLE.parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(port)], cwd=EXAMPLE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _call(url + "/api/health")[1] == {"ok": True}:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the example did not start:\n" + proc.communicate()[0].decode(errors="replace"))
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def _call(url: str, body: Optional[dict[str, Any]] = None, headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_fastapi_example(server: str, emulator: dict[str, Any]) -> None:
    status, made = _call(server + "/api/notes", {"body": "hello"})
    assert status == 201 and made["body"] == "hello" and made["created"].endswith("+00:00")
    status, notes = _call(server + "/api/notes")
    assert status == 200 and made in notes

    email = f"fastapi-{uuid.uuid4().hex[:6]}@example.com"
    token = forwarded_token(emulator, add_user(emulator, email))
    status, me = _call(server + "/api/me", headers={"X-Forwarded-Access-Token": token})
    assert status == 200 and me == {"user": email, "session_user": email}
    status, refused = _call(server + "/api/me")  # no forwarded token: never the App's own identity
    assert status == 401
