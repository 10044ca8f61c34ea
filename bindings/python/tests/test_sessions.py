"""connect() opens one server session and close() ends it; counted on the emulator's backing PostgreSQL server."""

import time
import uuid

import pytest

import lakelink
from emutil import SOAK, fds, record, rss_mb, stats, wait_until


def test_connect_close_leaves_no_session(emulator, lakebase_conn, backend):
    # Warm up the library, the identity's credential and pgx, then take the baseline.
    lakelink.connect(lakebase_conn).close()
    run = uuid.uuid4().hex[:8]  # this test's sessions' application_name begins with it
    n = 1_000 if SOAK else 100
    base_fds, base_gateway, base_rss, t0 = fds(), stats(emulator)["open"]["gateway"], rss_mb(), time.monotonic()
    for i in range(n):  # a connection string per user, as an app serving users with their own strings would
        with lakelink.connect(lakebase_conn + f";ApplicationName={run}-u{i}") as c:
            assert c.execute("SELECT current_setting('application_name')").fetchone() == (f"{run}-u{i}",)
    for _ in range(n):  # the same string
        with lakelink.connect(lakebase_conn + f";ApplicationName={run}-same") as c:
            c.execute("SELECT 1").fetchall()
    assert wait_until(lambda: backend.sessions(run, prefix=True) == 0), \
        f"{backend.sessions(run, prefix=True)} server sessions left"
    assert wait_until(lambda: stats(emulator)["open"]["gateway"] <= base_gateway)
    assert wait_until(lambda: fds() <= base_fds), f"{fds() - base_fds} file descriptors more than at the start"
    record("connect_close", {"distinct": n, "equal": n, "seconds": round(time.monotonic() - t0, 1),
                             "server_sessions_left": backend.sessions(run, prefix=True),
                             "fds_growth": fds() - base_fds, "rss_growth_mb": round(rss_mb() - base_rss, 1)})


def test_each_connection_is_one_session(lakebase_conn, backend):
    name = "one-" + uuid.uuid4().hex[:8]
    conns = [lakelink.connect(lakebase_conn, ApplicationName=name) for _ in range(3)]
    try:
        assert backend.sessions(name) == 3
        pids = {c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in conns}
        assert len(pids) == 3
    finally:
        for c in conns:
            c.close()
    assert wait_until(lambda: backend.sessions(name) == 0)


def test_prepared_statements_stay_per_session(lakebase_conn):
    with lakelink.connect(lakebase_conn) as c:
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        for i in range(3):
            assert c.execute("SELECT %s::int + 1", (i,)).fetchone() == (i + 1,)
        prepared = c.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        assert any("+ 1" in s for (s,) in prepared), prepared
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pid  # the same session throughout
