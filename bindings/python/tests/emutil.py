"""What tests count on the emulator: its backing PostgreSQL server's sessions, its stats, this process' fds and RSS."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional

import lakelink


class Backend:
    """The emulator's backing PostgreSQL server, as its administrator (bypassing the gateway)."""

    def __init__(self, info: dict[str, Any]) -> None:
        u = urllib.parse.urlparse(info["lakebase"]["postgres_url"])
        self.admin = u.username or ""
        self.conn = lakelink.connect(
            f"AuthScheme=Password;User={self.admin};Password={urllib.parse.unquote(u.password or '')};"
            f"Server={u.hostname};Port={u.port};Database={info['lakebase']['database']};SSLMode=disable")
        self.conn.autocommit = True
        self._lock = threading.Lock()

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self._lock:
            cur = self.conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def sessions(self, application_name: Optional[str] = None, prefix: bool = False) -> int:
        """Client sessions of the gateway's logins (any role but the administrator), or of one
        application_name (of any beginning with it, with prefix)."""
        if application_name is not None:
            op, arg = ("LIKE", application_name.replace("%", r"\%").replace("_", r"\_") + "%") if prefix \
                else ("=", application_name)
            return int(self.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                f"AND application_name {op} %s", (arg,))[0][0])
        return int(self.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                            "AND usename <> %s", (self.admin,))[0][0])

    def close(self) -> None:
        self.conn.close()


def stats(info: dict[str, Any]) -> dict[str, Any]:
    """The emulator's counters (GET /_emulator/stats)."""
    with urllib.request.urlopen(info["admin_url"] + "/stats", timeout=10) as r:
        result: dict[str, Any] = json.load(r)
        return result


def add_user(info: dict[str, Any], email: str) -> str:
    """Adds an emulator user (CAN USE on the app, a Lakebase role) and returns their all-apis token."""
    req = urllib.request.Request(info["admin_url"] + "/users", data=json.dumps({"email": email}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        token: str = json.load(r)["access_token"]
        return token


def forwarded_token(info: dict[str, Any], user_access_token: str) -> str:
    """The token the app receives in X-Forwarded-Access-Token when the user calls it (through /api/echo)."""
    app = lakelink.App(info["app_url"], f"AuthScheme=Token;Token={user_access_token}")
    headers = app.get("/api/echo").json()["headers"]
    return lakelink.user_token(headers)


SOAK = os.environ.get("LAKELINK_SOAK") == "1"  # the long versions (make soak's convention)


def record(scenario: str, figures: dict[str, Any]) -> None:
    """Prints a test's figures, and appends them to $LAKELINK_SOAK_OUT as core/internal/soak.Record does."""
    line = json.dumps({"scenario": "python/" + scenario, "long": SOAK, "figures": figures})
    print("\nfigures:", line)
    out = os.environ.get("LAKELINK_SOAK_OUT")
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def wait_until(ok: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Polls ok until it holds or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            return ok()
        time.sleep(0.05)
    return True


def fds() -> int:
    """This process' open file descriptors."""
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    """This process' resident set size, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
