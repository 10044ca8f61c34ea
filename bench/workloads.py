"""The Python workloads of `make bench`, one run per process.

    LAKELINK_BENCH_CONFIG='{...}' python bench/workloads.py WORKLOAD IMPL

IMPL is "lakelink" or the peer ("psycopg", "requests"); for "pool", "as_user"
(lakelink acting as an App's user) or "app" (the App's own sessions). The JSON in
$LAKELINK_BENCH_CONFIG (an environment variable, so that its secrets stay
out of `ps`) holds the connection strings bench/run.py prepared. The run prints one JSON
object: {"seconds": the time of the measured part, ...checks}. Every
workload checks what it got back, so a fast wrong answer fails instead of
winning.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

# The fetch workload's query: int8, float8, text, timestamptz and numeric
# columns, 1M rows by default.
FETCH_SQL = ("SELECT g::int8, (g * 0.37)::float8, md5(g::text), "
             "timestamptz '2024-01-01 00:00:00+00' + g * interval '1.234567 second', (g * 1.25)::numeric(12,2) "
             "FROM generate_series(1, %d) AS g")


def fetch(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Fetch cfg["rows"] rows of five types with fetchall."""
    conn = _connect(impl, cfg)
    cur = conn.cursor()
    t = time.perf_counter()
    cur.execute(FETCH_SQL % cfg["rows"])
    rows = cur.fetchall()
    s = time.perf_counter() - t
    last = rows[-1]
    check = [len(rows), last[0], str(last[4]), last[3].isoformat()]
    conn.close()
    return {"seconds": s, "check": check}


def roundtrips(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] single-row `SELECT %s` on one connection."""
    conn = _connect(impl, cfg)
    cur = conn.cursor()
    cur.execute("SELECT 1")  # connected and warm: the loop measures round trips only
    cur.fetchall()
    total = 0
    t = time.perf_counter()
    for i in range(cfg["n"]):
        cur.execute("SELECT %s", (i,))
        total += int(cur.fetchone()[0])  # lakelink: text (PostgreSQL infers $1 as text); psycopg: int
    s = time.perf_counter() - t
    conn.close()
    return {"seconds": s, "check": total}


def pool(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] single-row `SELECT %s`, each a round of ConnectionPool.connection() (acquire, execute, fetch, give
    back; the block's end commits), on a pool of the App's service principal through the Lakebase gateway. impl
    "as_user" takes the sessions of the App user whose forwarded token cfg["app_user_token"] is, "app" the pool's
    own; the rest is the same. A first round before the clock starts warms the pool (and, as the user, verifies
    the token and logs the user in), so the loop measures a warm pool's rounds only."""
    import lakelink

    whose = {"as_user": cfg["app_user_token"]} if impl == "as_user" else {}  # as_user=None would be refused
    with lakelink.ConnectionPool(cfg["gateway"]) as p:
        with p.connection(**whose) as conn:
            who = conn.execute("SELECT current_user").fetchone()[0]
        total = 0
        t = time.perf_counter()
        for i in range(cfg["n"]):
            with p.connection(**whose) as conn:
                total += int(conn.execute("SELECT %s", (i,)).fetchone()[0])
        s = time.perf_counter() - t
        stats = p.get_stats()
    # Each side acted as whom it should: the user, on the user's sessions; the App, on its own.
    as_whom = who == cfg["app_user_email"] and stats["users"] == 1
    right = as_whom if impl == "as_user" else (who != cfg["app_user_email"] and stats["users"] == 0)
    return {"seconds": s, "check": [total, right]}


def startup(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Import + connect + first query, to PostgreSQL directly (AuthScheme=Password: no token to get)."""
    return _startup(impl, cfg["lakelink_pg"], cfg["pg_url"])


def startup_cached(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Import + connect + first query through the Lakebase gateway (TLS verify-full) as a user whose OAuth token
    is already in the token store: lakelink reads it and mints the credential; psycopg gets one minted beforehand."""
    return _startup(impl, cfg["lakelink_user_gateway"], cfg["psycopg_gateway"])


def _startup(impl: str, lakelink_connstr: str, psycopg_conninfo: str) -> dict[str, Any]:
    """Times the import, the connect and the first query in this fresh process."""
    t = time.perf_counter()
    if impl == "lakelink":
        import lakelink
        conn = lakelink.connect(lakelink_connstr)
    else:
        import psycopg
        conn = psycopg.connect(psycopg_conninfo)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    row = cur.fetchall()
    s = time.perf_counter() - t
    conn.close()
    return {"seconds": s, "check": row[0][0]}


def echo(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] GET /api/echo on the emulator's app."""
    url = cfg["app_url"] + "/api/echo"
    get: Callable[[], Any]
    if impl == "lakelink":
        import lakelink
        app = lakelink.App(cfg["app_url"], cfg["sp"])
        get = lambda: app.get("/api/echo")  # noqa: E731
    else:
        import requests
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + cfg["token"]
        get = lambda: session.get(url)  # noqa: E731
    get().json()  # the token and the connection are ready: the loop measures calls only
    ok = 0
    t = time.perf_counter()
    for _ in range(cfg["n"]):
        r = get()
        if r.status_code == 200:
            ok += 1
    s = time.perf_counter() - t
    last = r.json()
    return {"seconds": s, "check": [ok, last["path"]]}


def connects(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["connects"] lakelink.connect() to the Lakebase gateway as the service principal, from cfg["threads"]
    threads, in a process with a cold token cache: each opens a server session of its own, runs one SELECT and
    closes it (ending the session). The runner checks that they all share one token and one Lakebase credential."""
    from concurrent.futures import ThreadPoolExecutor

    import lakelink

    def one(i: int) -> int:
        c = lakelink.connect(cfg["gateway"])
        try:
            cur = c.cursor()
            cur.execute("SELECT %s", (i,))
            return int(cur.fetchone()[0])
        finally:
            c.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(cfg["threads"]) as pool:
        got = sorted(pool.map(one, range(cfg["connects"])))
    s = time.perf_counter() - t
    return {"seconds": s, "check": got == list(range(cfg["connects"]))}


# ---- bulk: executemany and COPY (issue 17) ----

def _bulk_table(conn: Any, impl: str, what: str) -> str:
    """A fresh table (id int8, name text, score float8) of this run's own, committed."""
    t = f"bench_{what}_{impl}_{os.getpid()}"
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {t}")
    cur.execute(f"CREATE TABLE {t} (id int8, name text, score float8)")
    conn.commit()
    return t


def _bulk_check(conn: Any, t: str) -> list[Any]:
    """What the table holds (count, sum of ids, sum of scores, a name), and drops it."""
    cur = conn.cursor()
    cur.execute(f"SELECT count(*), sum(id), sum(score), max(name) FROM {t}")
    got = [int(v) if i < 2 else (float(v) if i == 2 else v) for i, v in enumerate(cur.fetchone())]
    cur.execute(f"DROP TABLE {t}")
    conn.commit()
    conn.close()
    return got


def _bulk_rows(n: int) -> list[tuple[int, str, float]]:
    return [(i, f"name {i}", i * 0.5) for i in range(n)]


def executemany(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["bulk_rows"] three-column rows in one executemany, committed."""
    conn = _connect(impl, cfg)
    t = _bulk_table(conn, impl, "many")
    rows = _bulk_rows(cfg["bulk_rows"])
    cur = conn.cursor()
    start = time.perf_counter()
    cur.executemany(f"INSERT INTO {t} (id, name, score) VALUES (%s, %s, %s)", rows)
    conn.commit()
    s = time.perf_counter() - start
    return {"seconds": s, "check": _bulk_check(conn, t)}


def copy_in(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["rows"] three-column rows through cursor.copy(...).write_row, committed."""
    conn = _connect(impl, cfg)
    t = _bulk_table(conn, impl, "copyin")
    rows = _bulk_rows(cfg["rows"])
    cur = conn.cursor()
    start = time.perf_counter()
    with cur.copy(f"COPY {t} (id, name, score) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.commit()
    s = time.perf_counter() - start
    return {"seconds": s, "check": _bulk_check(conn, t)}


def copy_out(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """COPY cfg["rows"] rows of the fetch workload's five columns TO STDOUT, every block read (rows and bytes counted)."""
    conn = _connect(impl, cfg)
    cur = conn.cursor()
    lines = size = 0
    start = time.perf_counter()
    with cur.copy(f"COPY ({FETCH_SQL % cfg['rows']}) TO STDOUT") as copy:
        for block in copy:
            lines += block.count(b"\n") if impl == "lakelink" else 1  # psycopg: one row per block
            size += len(block)
    s = time.perf_counter() - start
    conn.close()
    return {"seconds": s, "check": [lines, size]}


def _connect(impl: str, cfg: dict[str, Any]) -> Any:
    if impl == "lakelink":
        import lakelink
        return lakelink.connect(cfg["lakelink_pg"])
    import psycopg
    return psycopg.connect(cfg["pg_url"])


WORKLOADS = {"fetch": fetch, "roundtrips": roundtrips, "pool": pool, "startup": startup,
             "startup-cached": startup_cached, "echo": echo, "connects": connects, "executemany": executemany,
             "copy-in": copy_in, "copy-out": copy_out}

if __name__ == "__main__":
    name, impl, cfg = sys.argv[1], sys.argv[2], json.loads(os.environ["LAKELINK_BENCH_CONFIG"])
    print(json.dumps(WORKLOADS[name](impl, cfg)))
