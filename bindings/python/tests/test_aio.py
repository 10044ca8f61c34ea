"""lakelink.aio: connections, cursors, pools, tokens and App calls awaited, against the emulator and its
PostgreSQL; the loop never blocks, and cancelling a task cancels its statement on the server."""

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any, Iterator

import pytest

import lakelink
import lakelink.aio
from conftest import _run_emulator
from emutil import add_user, forwarded_token, wait_until


@pytest.fixture()
def name():
    """An ApplicationName of this test's own, to count its sessions on the server."""
    return "aio-" + uuid.uuid4().hex[:8]


@pytest.fixture()
def pg_conn(emulator):
    """The emulator's PostgreSQL directly (AuthScheme=Password): a real PostgreSQL without the gateway."""
    import urllib.parse
    u = urllib.parse.urlparse(emulator["lakebase"]["postgres_url"])
    return (f"AuthScheme=Password;User={u.username};Password={urllib.parse.unquote(u.password or '')};"
            f"Server={u.hostname};Port={u.port};Database={emulator['lakebase']['database']};SSLMode=disable")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_connect_execute_fetch(lakebase_conn):
    async def main():
        conn = await lakelink.aio.connect(lakebase_conn)
        assert not conn.autocommit
        cur = await conn.execute("SELECT g, g * 1.5::numeric, md5(g::text) FROM generate_series(1, 5000) g")
        assert [c.name for c in cur.description] == ["g", "?column?", "md5"]
        assert await cur.fetchone() == (1, Decimal("1.5"), "c4ca4238a0b923820dcc509a6f75849b")
        assert len(await cur.fetchmany(3)) == 3
        rest = await cur.fetchall()
        assert len(rest) == 4996 and rest[-1][0] == 5000
        assert cur.rowcount == 5000 and cur.statusmessage == "SELECT 5000"
        cur = await conn.execute("SELECT %s::int + %(x)s::int" if False else "SELECT %s::int + 1", (41,))
        assert await cur.fetchall() == [(42,)]
        await conn.close()
        assert conn.closed
        await conn.close()
        with pytest.raises(lakelink.InterfaceError):
            conn.cursor()
    run(main())


def test_async_for_streams_and_executemany(pg_conn):
    table = "t_" + uuid.uuid4().hex[:10]

    async def main():
        async with await lakelink.aio.connect(pg_conn) as conn:
            async with conn.cursor() as cur:
                await cur.execute(f"CREATE TABLE {table} (id int, name text)")
                await cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(i, f"n{i}") for i in range(10)])
                assert cur.rowcount == 10
                await cur.execute(f"SELECT id FROM {table} ORDER BY id")
                assert [r[0] async for r in cur] == list(range(10))
                await cur.execute("SELECT g FROM generate_series(1, 12345) g")
                n = 0
                async for (g,) in cur:
                    n += 1
                assert n == 12345
        async with await lakelink.aio.connect(pg_conn) as conn:  # committed by the block's end
            cur = await conn.execute(f"SELECT count(*) FROM {table}")
            assert await cur.fetchone() == (10,)
            await conn.execute(f"DROP TABLE {table}")
    run(main())


def test_transactions_and_autocommit(pg_conn):
    table = "t_" + uuid.uuid4().hex[:10]

    async def main():
        conn = await lakelink.aio.connect(pg_conn)
        await conn.execute(f"CREATE TABLE {table} (id int)")
        await conn.commit()
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        await conn.rollback()
        await conn.execute(f"INSERT INTO {table} VALUES (2)")
        await conn.commit()
        assert await (await conn.execute(f"SELECT id FROM {table}")).fetchall() == [(2,)]
        await conn.rollback()
        await conn.set_autocommit(True)
        assert conn.autocommit
        await conn.execute(f"INSERT INTO {table} VALUES (3)")
        with pytest.raises(AttributeError):
            conn.autocommit = False  # type: ignore[misc]
        other = await lakelink.aio.connect(pg_conn)
        assert await (await other.execute(f"SELECT count(*) FROM {table}")).fetchone() == (2,)
        await other.execute(f"DROP TABLE {table}")
        await other.commit()
        await other.close()
        await conn.close()
    run(main())


def test_errors_keep_the_connection(pg_conn):
    async def main():
        conn = await lakelink.aio.connect(pg_conn)
        await conn.set_autocommit(True)
        with pytest.raises(lakelink.ProgrammingError) as e:
            await conn.execute("SELECT * FROM no_such_table")
        assert e.value.sqlstate == "42P01"
        with pytest.raises(lakelink.DataError):
            await (await conn.execute("SELECT 1 / g FROM generate_series(-5000, 5000) g")).fetchall()
        assert await (await conn.execute("SELECT 7")).fetchone() == (7,)
        cur = conn.cursor()
        await cur.execute("CREATE TEMP TABLE x (id int)")
        with pytest.raises(lakelink.ProgrammingError):
            await cur.fetchone()
        await conn.close()
    run(main())


async def _ticks_during(coro: Any) -> tuple[Any, list[float]]:
    """Runs coro while a 50 ms ticker runs; returns coro's answer and the gaps between ticks."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    t = asyncio.ensure_future(ticker())
    try:
        return await coro, gaps
    finally:
        stop.set()
        await t


def test_the_loop_keeps_ticking_through_pg_sleep(lakebase_conn):
    async def main():
        conn = await lakelink.aio.connect(lakebase_conn)
        cur, gaps = await _ticks_during(conn.execute("SELECT pg_sleep(1), 1"))
        assert await cur.fetchone() == ("", 1) or (await cur.fetchall()) == []
        assert len(gaps) >= 15, gaps  # 1 s of 50 ms ticks: the loop was never held
        assert max(gaps) < 0.25, gaps
        await conn.close()
    run(main())


def test_cancelling_the_task_cancels_the_statement(pg_conn, backend):
    async def main():
        conn = await lakelink.aio.connect(pg_conn, ApplicationName="aio-cancel")
        await conn.set_autocommit(True)
        pid = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
        task = asyncio.ensure_future(conn.execute("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.3)
        running = backend.sql("SELECT state, query FROM pg_stat_activity WHERE pid = %s", (pid,))
        assert running[0][0] == "active" and "pg_sleep" in running[0][1]
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as e:
            await task
        assert time.monotonic() - t0 < 5
        assert isinstance(e.value.__cause__, lakelink.OperationalError), repr(e.value.__cause__)
        assert e.value.__cause__.sqlstate == "57014"
        assert backend.sql("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))[0][0] == "idle"
        assert await (await conn.execute("SELECT 5")).fetchone() == (5,)  # usable, the same session
        assert (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0] == pid
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(conn.execute("SELECT pg_sleep(30)"), 0.2)
        assert await (await conn.execute("SELECT 6")).fetchone() == (6,)
        await conn.close()
    run(main())


def test_concurrent_tasks_on_one_connection_take_turns(pg_conn):
    async def main():
        conn = await lakelink.aio.connect(pg_conn)

        async def one(i: int) -> int:
            cur = await conn.execute("SELECT %s::int * 2", (i,))
            row = await cur.fetchone()
            return int(row[0])

        assert await asyncio.gather(*(one(i) for i in range(50))) == [i * 2 for i in range(50)]
        await conn.close()
    run(main())


def test_pool_shape_and_sessions(lakebase_conn, backend, name):
    async def main():
        pool = lakelink.aio.AsyncConnectionPool(lakebase_conn, max_size=3, ApplicationName=name)
        assert "not opened" in repr(pool) and "Secret" not in repr(pool).replace("OAuthClientSecret=***", "")
        async with pool:
            assert pool.max_size == 3 and pool.min_size == 0

            async def one(i: int) -> int:
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT %s::int, pg_sleep(0.01)", (i,))
                    return int((await cur.fetchone())[0])

            assert sorted(await asyncio.gather(*(one(i) for i in range(30)))) == list(range(30))
            s = pool.get_stats()
            assert s["pool_max"] == 3 and s["pool_size"] <= 3 and s["requests_waiting"] == 0
            assert backend.sessions(name) <= 3
            conn = await pool.getconn()
            assert pool.get_stats()["pool_available"] == s["pool_size"] - 1
            await pool.putconn(conn)
            assert conn.closed
            with pytest.raises(ValueError):
                await pool.putconn(await lakelink.aio.connect(lakebase_conn))
        assert pool.closed
        with pytest.raises(lakelink.InterfaceError):
            async with pool.connection():
                pass
    run(main())
    assert wait_until(lambda: backend.sessions(name) == 0)


def test_pool_commits_or_rolls_back(pg_conn):
    table = "t_" + uuid.uuid4().hex[:10]

    async def main():
        async with lakelink.aio.AsyncConnectionPool(pg_conn, max_size=2) as pool:
            async with pool.connection() as conn:
                await conn.execute(f"CREATE TABLE {table} (id int)")
                await conn.execute(f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(ZeroDivisionError):
                async with pool.connection() as conn:
                    await conn.execute(f"INSERT INTO {table} VALUES (2)")
                    1 / 0
            async with pool.connection() as conn:
                assert await (await conn.execute(f"SELECT id FROM {table}")).fetchall() == [(1,)]
                await conn.execute(f"DROP TABLE {table}")
            await pool.wait()
    run(main())


def test_pool_hands_sessions_over(pg_conn, backend, name, monkeypatch):
    """A session given back goes straight to a getconn waiting (no library acquire); the pool's bounds hold."""
    acquires = []
    acquire = lakelink._proto.Acquire
    monkeypatch.setattr(lakelink._proto, "Acquire", lambda *a: acquires.append(a) or acquire(*a))
    monkeypatch.setattr(lakelink.aio._pool, "STALL", 10.0)  # a busy machine's pause sends none to the core

    async def main():
        async with lakelink.aio.AsyncConnectionPool(pg_conn, max_size=2, ApplicationName=name,
                                                    kwargs={"autocommit": True}) as pool:
            async def one(i: int) -> tuple[int, int]:
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT %s::int, pg_backend_pid(), pg_sleep(0.002)", (i,))
                    n, pid, _ = await cur.fetchone()
                    return n, pid

            got = await asyncio.gather(*(one(i) for i in range(60)))
            assert [n for n, _ in got] == list(range(60))
            assert len({pid for _, pid in got}) <= 2 and backend.sessions(name) <= 2
            assert len(acquires) < 10, f"{len(acquires)} library acquires for 60 statements on 2 sessions"
            s = pool.get_stats()
            assert s["requests_waiting"] == 0 and s["pool_available"] == s["pool_size"]
    run(main())


def test_pool_hands_over_only_what_could_serve(pg_conn):
    """A session left in a transaction (a BEGIN run in autocommit mode) is not handed over: the core replaces
    it. One given back after a commit is, in the pool's mode (autocommit off here), and what each block
    committed stays, what one rolled back does not."""
    table = "t_" + uuid.uuid4().hex[:10]

    async def main():
        async with lakelink.aio.AsyncConnectionPool(pg_conn, max_size=1, kwargs={"autocommit": True}) as pool:
            a = await pool.getconn()
            pid_a = (await (await a.execute("SELECT pg_backend_pid()")).fetchone())[0]
            await a.execute("BEGIN")
            waiting = asyncio.ensure_future(pool.getconn())
            await asyncio.sleep(0.01)
            await a.close()
            b = await waiting
            pid_b = (await (await b.execute("SELECT pg_backend_pid()")).fetchone())[0]
            assert pid_b != pid_a  # another session: the one in a transaction was ended
            await b.close()
        async with lakelink.aio.AsyncConnectionPool(pg_conn, max_size=1) as pool:
            async with pool.connection() as conn:
                await conn.execute(f"CREATE TABLE {table} (id int)")

            async def insert(i: int) -> None:
                async with pool.connection() as conn:
                    assert not conn.autocommit
                    await conn.execute(f"INSERT INTO {table} VALUES (%s)", (i,))
                    if i % 5 == 0:
                        raise ZeroDivisionError

            done = await asyncio.gather(*(insert(i) for i in range(20)), return_exceptions=True)
            assert sum(isinstance(d, ZeroDivisionError) for d in done) == 4
            async with pool.connection() as conn:
                assert (await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone())[0] == 16
                await conn.execute(f"DROP TABLE {table}")
    run(main())


def test_pool_waiting_ends(pg_conn):
    """A getconn waiting for a session that nobody gives back fails after the pool's timeout; one cancelled
    while waiting takes nothing, and the session given back after it serves the next."""
    async def main():
        async with lakelink.aio.AsyncConnectionPool(pg_conn, max_size=1, timeout=0.5) as pool:
            held = await pool.getconn()
            t = time.monotonic()
            with pytest.raises(lakelink.OperationalError) as e:
                await pool.getconn()
            assert 0.5 <= time.monotonic() - t < 5 and "PoolTimeout" in str(e.value)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pool.getconn(), 0.05)
            assert pool.get_stats()["requests_waiting"] == 0
            await held.close()
            assert pool.get_stats()["pool_available"] == 1
            async with pool.connection() as conn:
                assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
    run(main())


def test_pool_as_user(emulator, lakebase_conn):
    email = f"aio-{uuid.uuid4().hex[:6]}@example.com"
    user_token = forwarded_token(emulator, add_user(emulator, email))

    async def main():
        async with lakelink.aio.AsyncConnectionPool(lakebase_conn) as pool:
            async with pool.connection(as_user=user_token) as conn:
                assert await (await conn.execute("SELECT current_user")).fetchone() == (email,)
            async with pool.connection() as conn:
                assert (await (await conn.execute("SELECT current_user")).fetchone())[0] != email
            assert pool.get_stats()["users"] == 1
            with pytest.raises(lakelink.AppError):
                async with pool.connection(as_user=None):
                    pass
    run(main())


def test_token_and_app(emulator, sp_conn):
    async def main():
        tok = await lakelink.aio.token(sp_conn)
        assert tok.access_token and "***" in repr(tok)
        app = lakelink.aio.App(emulator["app_url"], sp_conn)
        resp, gaps = await _ticks_during(asyncio.gather(*(app.get("/api/echo", params={"i": i}) for i in range(20))))
        assert all(r.status == 200 for r in resp)
        with pytest.raises(lakelink.AppError) as e:
            await app.get("/api/../x")
        assert e.value.kind in ("not_api_path", "other_host")
        assert "lakelink.aio.App" in repr(app)
    run(main())


@pytest.fixture(scope="module")
def short_emulator() -> Iterator[dict[str, Any]]:
    """An emulator whose tokens and Lakebase credentials last 3 s."""
    yield from _run_emulator("--token-ttl", "3s")


def test_credentials_expire_during_use(short_emulator):
    info = short_emulator
    lb = info["lakebase"]
    sp = info["service_principal"]
    cs = (f"Host={info['workspace_url']};OAuthClientId={sp['client_id']};OAuthClientSecret={sp['client_secret']};"
          f"Server={lb['host']};Port={lb['port']};Instance={lb['instance']};SSLMode=verify-full;"
          f"SSLServerCert={lb['ca_file']}")

    async def main():
        t1 = await lakelink.aio.token(cs)
        async with lakelink.aio.AsyncConnectionPool(cs, max_size=2, max_lifetime=1.0) as pool:
            deadline = time.monotonic() + 7  # two credential lifetimes and more
            n = 0
            while time.monotonic() < deadline:
                async with pool.connection() as conn:
                    assert await (await conn.execute("SELECT %s::int", (n,))).fetchone() == (n,)
                n += 1
                await asyncio.sleep(0.2)
            conn = await lakelink.aio.connect(cs)  # a new login, with a renewed credential
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
            await conn.close()
        t2 = await lakelink.aio.token(cs)
        assert t2.access_token != t1.access_token
    run(main())
