"""Acting as an App's users: pool.connection(as_user=...) under a row-level security policy, App.as_user,
and bounds (users kept, server sessions, RSS) with many distinct users and tokens.

Users are added with POST /_emulator/users; the token each test acts with is the one the emulator's app
proxy forwards in X-Forwarded-Access-Token (its app has user authorization on). LAKELINK_SOAK=1 runs the
long variants."""

import concurrent.futures
import random
import threading
import time
import traceback
import uuid

import pytest

import lakelink
from emutil import SOAK, add_user, forwarded_token, record, rss_mb, wait_until


def _users(emulator, n):
    """n new users: [(email, all-apis token, forwarded token)], made 8 at a time."""
    run = uuid.uuid4().hex[:6]

    def one(i):
        email = f"u{i}-{run}@example.com"
        token = add_user(emulator, email)
        return email, token, forwarded_token(emulator, token)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(one, range(n)))


def _rls_table(backend, emails, rows):
    """A table whose policy shows each user (current_user) only their rows: rows rows for each of emails."""
    table = "user_rows_" + uuid.uuid4().hex[:10]
    backend.sql(f"CREATE TABLE {table} (owner text NOT NULL, n int NOT NULL)")
    backend.sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    backend.sql(f"CREATE POLICY own_rows ON {table} USING (owner = current_user)")
    backend.sql(f"GRANT SELECT ON {table} TO PUBLIC")
    backend.sql(f"INSERT INTO {table} SELECT u, n FROM unnest(%s::text[]) u, generate_series(1, %s) n",
                (list(emails), rows))
    return table


def _own_rows(conn, table, email, rows):
    got = conn.execute(f"SELECT owner, current_user FROM {table}").fetchall()
    assert all(row == (email, email) for row in got), f"{email} saw {set(got) - {(email, email)}}"
    assert len(got) == rows, f"{email} saw {len(got)} rows, not {rows}"


def test_each_user_sees_only_their_rows(emulator, lakebase_conn, backend):
    users = _users(emulator, 3)
    table = _rls_table(backend, [e for e, _, _ in users] + ["someone-else@example.com"], 2)
    try:
        with lakelink.ConnectionPool(lakebase_conn) as pool:
            for email, _, token in users:
                with pool.connection(as_user=token) as conn:
                    _own_rows(conn, table, email, 2)
                    assert "as an App user" in repr(conn) and token not in repr(conn)
            with pool.connection() as conn:  # the App's own session: none of the users' rows
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
            s = pool.get_stats()
            assert s["users"] == 3 and 1 <= s["user_sessions"] <= 3 * 2
            # A request carrying the header is as good as the token.
            from starlette.requests import Request
            email, _, token = users[0]
            request = Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                               "headers": [(b"x-forwarded-access-token", token.encode())]})
            with pool.connection(as_user=request) as conn:
                _own_rows(conn, table, email, 2)
    finally:
        backend.sql(f"DROP TABLE {table}")


def test_a_users_next_token_reuses_their_sessions(emulator, lakebase_conn):
    [(email, token, forwarded)] = _users(emulator, 1)
    with lakelink.ConnectionPool(lakebase_conn) as pool:
        with pool.connection(as_user=forwarded) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        # Another token of the same user (the all-apis one): keyed by the principal, not the token.
        with pool.connection(as_user=token) as conn:
            assert conn.execute("SELECT pg_backend_pid(), current_user").fetchone() == (pid, email)
        assert pool.get_stats()["users"] == 1


@pytest.mark.parametrize("bad", ["not-a-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "two tokens", "a,b"])
def test_a_bad_user_token_is_a_clear_error(lakebase_conn, bad):
    with lakelink.ConnectionPool(lakebase_conn) as pool:
        with pytest.raises(lakelink.Error) as e:
            pool.getconn(as_user=bad)
        shown = str(e.value) + repr(e.value) + repr(e.value.args) + repr(vars(e.value)) + \
            "".join(traceback.format_exception(e.value))
        assert bad not in shown, shown
        assert pool.get_stats()["users"] == 0  # nothing kept for it


def test_app_as_user(emulator, sp_conn):
    [(email, token, forwarded)] = _users(emulator, 1)
    app = lakelink.App(emulator["app_url"], sp_conn)
    as_user = app.as_user(token)
    assert as_user.get("/api/whoami").json()["email"] == email
    assert app.get("/api/whoami").json()["email"] == emulator["service_principal"]["client_id"]  # unchanged
    assert token not in repr(as_user) and "as an App user" in repr(as_user)
    # Inside an App: no connection string, the forwarded token alone (a request works too).
    headers = {"X-Forwarded-Access-Token": forwarded}
    assert lakelink.App(emulator["app_url"]).as_user(headers).get("/api/whoami").json()["email"] == email


def test_many_users_under_threads(emulator, lakebase_conn, backend):
    """500 users, max_users=20, 16 threads: nobody sees another's rows, users and sessions stay bounded."""
    n_users, requests, threads, max_users = 500, (10_000 if SOAK else 2_000), 16, 20
    start = time.monotonic()
    users = _users(emulator, n_users)
    made = time.monotonic() - start
    table = _rls_table(backend, [e for e, _, _ in users], 3)
    name = "many-" + uuid.uuid4().hex[:8]
    peak = {"sessions": 0, "users": 0, "user_sessions": 0, "pool_size": 0}
    errors, done = [], threading.Event()
    try:
        with lakelink.ConnectionPool(lakebase_conn, max_users=max_users, ApplicationName=name) as pool:
            def watch():
                while not done.is_set():
                    s = pool.get_stats()
                    for k in ("users", "user_sessions", "pool_size"):
                        peak[k] = max(peak[k], s[k])
                    peak["sessions"] = max(peak["sessions"], backend.sessions(name))
                    time.sleep(0.05)

            order = [random.randrange(n_users) for _ in range(requests)]

            def work(k):
                for i in order[k::threads]:
                    email, _, token = users[i]
                    try:
                        with pool.connection(as_user=token) as conn:
                            _own_rows(conn, table, email, 3)
                    except BaseException as e:  # noqa: B902 - reported below
                        errors.append(e)

            watcher = threading.Thread(target=watch)
            watcher.start()
            t0 = time.monotonic()
            workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            took = time.monotonic() - t0
            done.set()
            watcher.join()
            final = pool.get_stats()
        assert wait_until(lambda: backend.sessions(name) == 0), "sessions left after the pool closed"
    finally:
        backend.sql(f"DROP TABLE {table}")
    record("as_user_many_users", {"users": n_users, "users_made_s": round(made, 1), "requests": requests,
                                  "threads": threads, "max_users": max_users, "seconds": round(took, 1),
                                  "requests_per_s": round(requests / took), "errors": len(errors),
                                  "peak_server_sessions": peak["sessions"], "peak_users": peak["users"],
                                  "peak_user_sessions": peak["user_sessions"], "peak_app_sessions": peak["pool_size"],
                                  "final": final})
    assert not errors, errors[:3]
    assert peak["users"] <= max_users
    # The App's sessions (at most 10, here 1), each kept user's (2 at most, MaxUserConnections), and the
    # sessions of evicted users still in use, which finish their query first (one per thread at most).
    assert peak["sessions"] <= 10 + max_users * 2 + threads


def test_distinct_token_identities_keep_rss_bounded(emulator):
    """lakelink.token() for distinct tokens: the core keeps at most 1,000 identities, so RSS stops growing.

    Unbounded (before issue 16) RSS grew about 0.8 MB per 1,000 identities here: 16 MB over 20,000, 48 MB
    over 60,000. Bounded, it moves within about 1.5 MB (the Go heap's own breathing). 20,000 calls take
    well under a second."""
    n = 100_000 if SOAK else 20_000
    run = uuid.uuid4().hex[:8]
    host = emulator["workspace_url"]
    for i in range(2_000):  # fills the identity caches: past this, growth means a leak
        lakelink.token(f"Host={host};AuthScheme=Token;Token=warm{run}x{i}")
    before, t0 = rss_mb(), time.monotonic()
    for i in range(n):
        tok = f"tok{run}x{i}"
        assert lakelink.token(f"Host={host};AuthScheme=Token;Token={tok}").access_token == tok
    growth, took = rss_mb() - before, time.monotonic() - t0
    record("token_distinct_identities", {"identities": n, "warm_up": 2_000, "seconds": round(took, 2),
                                         "rss_before_mb": round(before, 1), "rss_growth_mb": round(growth, 1)})
    assert growth < 5, f"RSS grew {growth:.1f} MB over {n} identities"


def test_one_users_sessions_stay_within_max_user_connections(emulator, lakebase_conn):
    [(email, _, token)] = _users(emulator, 1)
    peak, errors = [0], []
    with lakelink.ConnectionPool(lakebase_conn, MaxUserConnections=2, timeout=20) as pool:
        def work():
            try:
                for _ in range(10):
                    with pool.connection(as_user=token) as conn:
                        assert conn.execute("SELECT current_user FROM pg_sleep(0.02)").fetchone() == (email,)
                        peak[0] = max(peak[0], pool.get_stats()["user_sessions"])
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert peak[0] == 2
