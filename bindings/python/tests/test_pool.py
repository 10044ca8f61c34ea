"""lakelink.ConnectionPool: psycopg_pool's shape over the core's pool, counted on the backing PostgreSQL server."""

import threading
import time
import uuid

import pytest

import lakelink
from emutil import wait_until


@pytest.fixture()
def name():
    """An ApplicationName of this test's own, to count its sessions on the server."""
    return "pool-" + uuid.uuid4().hex[:8]


def test_sessions_are_reused_and_given_back(lakebase_conn, backend, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name) as pool:
        pids = set()
        for _ in range(20):
            with pool.connection() as conn:
                pids.add(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        assert len(pids) == 1
        assert backend.sessions(name) == 1
        s = pool.get_stats()
        assert s == {"pool_min": 0, "pool_max": 10, "pool_size": 1, "pool_available": 1, "requests_waiting": 0,
                     "users": 0, "user_sessions": 0}
        conn = pool.getconn()
        assert pool.get_stats()["pool_available"] == 0
        pool.putconn(conn)
        assert conn.closed and pool.get_stats()["pool_available"] == 1
    assert pool.closed
    assert wait_until(lambda: backend.sessions(name) == 0)


def test_prepared_statements_outlive_a_borrow(lakebase_conn, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1) as pool:
        with pool.connection() as conn:
            assert conn.execute("SELECT %s::int * 3", (2,)).fetchone() == (6,)
        with pool.connection() as conn:  # the same session, its statement cache kept
            prepared = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
            assert any("* 3" in s for (s,) in prepared), prepared


def test_commit_on_success_rollback_on_exception(lakebase_conn, name):
    table = "t_" + uuid.uuid4().hex[:10]
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name) as pool:
        with pool.connection() as conn:
            conn.execute(f"CREATE TABLE {table} (id int)")
            conn.execute(f"INSERT INTO {table} VALUES (1)")
        with pytest.raises(ZeroDivisionError):
            with pool.connection() as conn:
                conn.execute(f"INSERT INTO {table} VALUES (2)")
                1 / 0
        with pool.connection() as conn:
            conn.execute(f"INSERT INTO {table} VALUES (3)")
            conn.rollback()
            assert not conn.autocommit  # as connect()'s: each session starts as PEP 249 wants
        with lakelink.connect(lakebase_conn) as other:
            assert other.execute(f"SELECT id FROM {table} ORDER BY id").fetchall() == [(1,)]
            other.execute(f"DROP TABLE {table}")


def test_autocommit_does_not_outlive_the_borrower(lakebase_conn, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1) as pool:
        with pool.connection() as conn:
            conn.autocommit = True
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with pool.connection() as conn:
            assert not conn.autocommit
            assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == pid  # the same session
            conn.execute("SELECT 1")
            assert conn.execute("SELECT now() = statement_timestamp()").fetchone() == (False,)  # in a transaction


def test_sizes_from_arguments_and_connection_string(lakebase_conn, backend, name):
    with lakelink.ConnectionPool(lakebase_conn + ";MaxConnections=3;MinConnections=2", ApplicationName=name) as pool:
        s = pool.get_stats()
        assert (s["pool_min"], s["pool_max"]) == (2, 3)
        assert wait_until(lambda: pool.get_stats()["pool_size"] >= 2)  # min_size sessions open when idle
        assert wait_until(lambda: backend.sessions(name) == pool.get_stats()["pool_size"])
    # An argument wins over the connection string's property.
    with lakelink.ConnectionPool(lakebase_conn + ";MaxConnections=3", max_size=5, min_size=1, max_idle=30.5,
                                 max_lifetime=60, timeout=2, max_users=3, ApplicationName=name) as pool:
        s = pool.get_stats()
        assert (s["pool_min"], s["pool_max"]) == (1, 5)
    assert wait_until(lambda: backend.sessions(name) == 0)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"max_size": 0}, ValueError, "max_size must be at least 1"),
    ({"min_size": -1}, ValueError, "min_size must be at least 0"),
    ({"min_size": 5, "max_size": 2}, ValueError, "min_size (MinConnections) 5 is more than max_size (MaxConnections) 2"),
    ({"min_size": 5, "MaxConnections": 2}, ValueError, "min_size (MinConnections) 5 is more than max_size"),
    ({"max_users": 0}, ValueError, "max_users must be at least 1"),
    ({"max_size": 2.5}, TypeError, "max_size must be an int"),
    ({"max_size": True}, TypeError, "max_size must be an int"),
    ({"timeout": 0}, ValueError, "timeout must be a number of seconds greater than 0"),
    ({"max_idle": -1.0}, ValueError, "max_idle must be a number of seconds greater than 0"),
    ({"max_lifetime": float("inf")}, ValueError, "max_lifetime must be a number of seconds greater than 0"),
    ({"timeout": "30s"}, TypeError, "timeout must be a number of seconds"),
])
def test_bad_arguments_name_the_argument(lakebase_conn, kwargs, error, words):
    with pytest.raises(error) as e:
        lakelink.ConnectionPool(lakebase_conn, **kwargs)
    assert words in str(e.value)


def test_bad_connection_string_property(lakebase_conn):
    with pytest.raises(lakelink.ProgrammingError, match="MaxIdleTime"):
        lakelink.ConnectionPool(lakebase_conn + ";MaxIdleTime=soon")


def test_wrong_credential_fails_at_open(emulator, lakebase_conn):
    bad = lakebase_conn.replace(emulator["service_principal"]["client_secret"], "wrong-secret")
    with pytest.raises(lakelink.Error) as e:
        lakelink.ConnectionPool(bad)
    assert "wrong-secret" not in str(e.value) + repr(e.value)


def test_timeout_when_every_session_is_taken(lakebase_conn, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1, timeout=0.5) as pool:
        with pool.connection():
            start = time.monotonic()
            with pytest.raises(lakelink.OperationalError):
                pool.getconn()
            assert 0.4 < time.monotonic() - start < 5


def test_threads_share_a_bounded_pool(lakebase_conn, backend, name):
    peak, errors = [0], []
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=4) as pool:
        def work():
            try:
                for i in range(25):
                    with pool.connection() as conn:
                        assert conn.execute("SELECT %s::int * 2", (i,)).fetchone() == (i * 2,)
                        peak[0] = max(peak[0], backend.sessions(name))
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        assert 1 <= peak[0] <= 4
        s = pool.get_stats()
        assert s["pool_size"] <= 4 and s["requests_waiting"] == 0
    assert wait_until(lambda: backend.sessions(name) == 0)


def test_close_with_a_session_out(lakebase_conn, backend, name):
    pool = lakelink.ConnectionPool(lakebase_conn, ApplicationName=name)
    conn = pool.getconn()
    pool.close()
    pool.close()  # twice is allowed
    assert pool.closed and "closed" in repr(pool)
    assert conn.execute("SELECT 1").fetchone() == (1,)  # a session out keeps working until given back
    with pytest.raises(lakelink.InterfaceError, match="pool is closed"):
        pool.getconn()
    with pytest.raises(lakelink.InterfaceError, match="pool is closed"):
        pool.get_stats()
    conn.close()
    assert wait_until(lambda: backend.sessions(name) == 0)


def test_repr_shows_no_secret(emulator, lakebase_conn):
    secret = emulator["service_principal"]["client_secret"]
    with lakelink.ConnectionPool(lakebase_conn) as pool:
        with pool.connection() as conn:
            for text in (repr(pool), str(pool), repr(conn)):
                assert secret not in text
            assert "open" in repr(pool) and "OAuthClientSecret=***" in repr(pool)


def test_as_user_empty_token_refused(lakebase_conn):
    with lakelink.ConnectionPool(lakebase_conn) as pool:
        with pytest.raises(lakelink.AppError, match="User authorization"):
            pool.getconn(as_user="")  # as request.headers.get("X-Forwarded-Access-Token", "") gives without it
        with pytest.raises(lakelink.AppError, match="User authorization"):
            pool.getconn(as_user={"Accept": "*/*"})  # a request without the header


def test_sessions_recycled_after_max_lifetime_without_failing_a_query(lakebase_conn, name):
    pids, errors, stop = set(), [], threading.Event()
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=3, max_lifetime=1) as pool:
        def work():
            while not stop.is_set():
                try:
                    with pool.connection() as conn:
                        pids.add(conn.execute("SELECT pg_backend_pid() FROM pg_sleep(0.01)").fetchone()[0])
                except BaseException as e:  # noqa: B902 - reported below
                    errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert len(pids) > 3, f"sessions not replaced: {len(pids)} server processes in 4 s"


def test_a_session_the_server_ended_is_replaced(lakebase_conn, backend, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1) as pool:
        with pool.connection() as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        backend.sql("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(1.2)  # idle past a second: the pool checks a session before lending it
        with pool.connection() as conn:
            assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid


def test_as_user_none_is_refused_not_the_pools_identity(lakebase_conn, name):
    # pool.connection(as_user=request.headers.get("X-Forwarded-Access-Token")) with the header missing must not
    # run as the App's own identity (row security would not limit it); as Node's asUser(undefined), Go's AsUser("").
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name) as pool:
        for take in (lambda: pool.getconn(as_user=None), lambda: pool.connection(as_user=None).__enter__()):
            with pytest.raises(lakelink.AppError) as e:
                take()
            assert e.value.kind == "no_user_token" and "User authorization" in str(e.value)
        s = pool.get_stats()
        assert s["users"] == 0 and s["pool_available"] == s["pool_size"]  # no session taken


def test_psycopg_pool_signatures(lakebase_conn, name):
    # psycopg_pool's getconn(timeout=None) / connection(timeout=None): timeout first, as_user by keyword only.
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, timeout=2.5, name="orders") as pool:
        assert pool.name == "orders" and "'orders'" in repr(pool)
        conn = pool.getconn(2.5)  # the pool's own timeout: honoured
        pool.putconn(conn)
        with pool.connection(timeout=2.5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        # Another per-call timeout cannot be honoured (the library waits PoolTimeout): refused, not ignored.
        for t in (1, 60):
            with pytest.raises(lakelink.NotSupportedError, match="give timeout to ConnectionPool"):
                pool.getconn(t)
            with pytest.raises(lakelink.NotSupportedError):
                pool.connection(timeout=t).__enter__()
        with pytest.raises(TypeError, match="timeout must be a number of seconds"):
            pool.getconn("a-token")  # as_user is keyword-only: a token given first is not taken for it
        assert pool.get_stats()["pool_available"] == pool.get_stats()["pool_size"]
        # putconn takes only this pool's connections, as psycopg_pool's (ValueError).
        with lakelink.connect(lakebase_conn) as own, pytest.raises(ValueError, match="doesn't come from any pool"):
            pool.putconn(own)
        with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name) as other:
            theirs = other.getconn()
            with pytest.raises(ValueError, match="comes from another pool"):
                pool.putconn(theirs)
            other.putconn(theirs)
        pool.open()  # open already: nothing to do
        assert pool.pop_stats() == pool.get_stats()
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name) as pool:
        with pool.connection(30):  # the default PoolTimeout
            pass
        assert pool.name.startswith("pool-")
    with pytest.raises(lakelink.InterfaceError, match="pool is closed"):
        pool.open()  # a closed pool is not opened again


def test_wait_for_min_size(lakebase_conn, backend, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, min_size=3) as pool:
        pool.open(wait=True, timeout=20)
        assert pool.get_stats()["pool_available"] >= 3 and backend.sessions(name) >= 3


def _pid(conn):
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


@pytest.mark.parametrize("sqlstate", ["08006", "57P01"])
def test_a_session_whose_error_said_lost_is_discarded(lakebase_conn, backend, name, sqlstate):
    # The session is alive (the error is raised by a statement), so only lakelink_discard keeps it out of the pool.
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1) as pool:
        with pytest.raises(lakelink.OperationalError):
            with pool.connection() as conn:
                pid = _pid(conn)
                conn.execute(f"DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '{sqlstate}'; END $$")
        with pool.connection() as conn:
            assert _pid(conn) != pid
        assert not backend.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
        # Any other error gives the session back: the same server process serves next.
        with pytest.raises(lakelink.DataError):
            with pool.connection() as conn:
                pid = _pid(conn)
                conn.execute("SELECT 1 / 0")
        conn = pool.getconn()
        assert _pid(conn) == pid
        pool.putconn(conn)


def test_a_session_the_server_ended_while_held_is_discarded(lakebase_conn, backend, name):
    with lakelink.ConnectionPool(lakebase_conn, ApplicationName=name, max_size=1) as pool:
        conn = pool.getconn()
        pid = _pid(conn)
        backend.sql("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(lakelink.OperationalError):
            conn.execute("SELECT 1")
        pool.putconn(conn)  # ended, not rolled back on a dead session: no error
        with pool.connection() as conn:
            assert _pid(conn) != pid
        assert pool.get_stats()["pool_size"] == 1
