"""lakelink.aio's executemany (one pipelined batch), COPY in and out, row factories, several statements in
one execute and rowcount -1, as the sync cursor's, against the emulator's PostgreSQL."""

import asyncio
import uuid
from decimal import Decimal
from collections.abc import Iterator
from typing import Any

import pytest

import lakelink
import lakelink.aio
from lakelink.rows import dict_row, namedtuple_row


@pytest.fixture()
def pg_conn(emulator: dict[str, Any]) -> str:
    import urllib.parse
    u = urllib.parse.urlparse(emulator["lakebase"]["postgres_url"])
    return (f"AuthScheme=Password;User={u.username};Password={urllib.parse.unquote(u.password or '')};"
            f"Server={u.hostname};Port={u.port};Database={emulator['lakebase']['database']};SSLMode=disable")


@pytest.fixture()
def table() -> Iterator[str]:
    yield "t_" + uuid.uuid4().hex[:10]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_executemany_is_one_batch(pg_conn, table):
    async def main():
        async with await lakelink.aio.connect(pg_conn, autocommit=True) as conn:
            cur = conn.cursor()
            await cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text, score float8)")
            assert cur.rowcount == -1  # CREATE TABLE carries no count
            await cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s)",
                                  [(i, f"n{i}", i / 2) for i in range(5000)])
            assert cur.rowcount == 5000
            await cur.executemany(f"INSERT INTO {table} VALUES (%(id)s, %(name)s, 0)", [])
            assert cur.rowcount == 0
            with pytest.raises(lakelink.IntegrityError):  # one implicit transaction: all or nothing
                await cur.executemany(f"INSERT INTO {table} VALUES (%s, 'x', 0)", [(6000,), (1,)])
            await cur.execute(f"SELECT count(*), max(id) FROM {table}")
            assert await cur.fetchone() == (5000, 4999)
            await cur.execute(f"DROP TABLE {table}")
    run(main())


def test_copy_in_and_out(pg_conn, table):
    async def main():
        async with await lakelink.aio.connect(pg_conn) as conn:
            cur = conn.cursor()
            await cur.execute(f"CREATE TABLE {table} (id int, name text)")
            async with cur.copy(f"COPY {table} (id, name) FROM STDIN") as copy:
                for i in range(20000):
                    await copy.write_row((i, None if i % 7 == 0 else f"a\tb{i}"))
                await copy.write_row([Decimal(20000), "a Decimal: sent as parameter rows"])
            assert cur.rowcount == 20001
            async with cur.copy(f"COPY {table} (id, name) FROM STDIN (FORMAT csv)") as copy:
                await copy.write("20000,x\n20001,y\n")
            assert cur.rowcount == 2
            with pytest.raises(ZeroDivisionError):
                async with cur.copy(f"COPY {table} (id, name) FROM STDIN") as copy:
                    await copy.write_row((99999, "aborted"))
                    1 / 0
            await conn.rollback()  # the aborted COPY failed the transaction
            await cur.execute(f"CREATE TABLE {table} (id int, name text)")
            async with cur.copy(f"COPY {table} (id, name) FROM STDIN") as copy:
                for i in range(1000):
                    await copy.write_row((i, None if i % 7 == 0 else f"a\tb{i}"))
            await conn.commit()
            async with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT") as copy:
                rows = [r async for r in copy.rows()]
            assert len(rows) == 1000 and rows[0] == ("0", None) and rows[1] == ("1", "a\tb1")
            assert cur.rowcount == 1000
            async with cur.copy(f"COPY {table} TO STDOUT") as copy:
                data = b"".join([b async for b in copy])
            assert data.count(b"\n") == 1000
            await cur.execute(f"DROP TABLE {table}")
    run(main())


def test_row_factories_and_several_statements(pg_conn):
    async def main():
        conn = await lakelink.aio.connect(pg_conn, autocommit=True)
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute("SELECT 1 AS id, 'a' AS name")
        assert await cur.fetchone() == {"id": 1, "name": "a"}
        conn.row_factory = namedtuple_row
        cur = await conn.execute("SELECT g AS n FROM generate_series(1, 3) g")
        assert [r.n for r in await cur.fetchall()] == [1, 2, 3]
        cur = await conn.execute("CREATE TEMP TABLE m (id int); INSERT INTO m VALUES (1), (2); "
                                 "SELECT count(*) AS c FROM m")
        assert (await cur.fetchone()).c == 2
        cur = await conn.execute("SET application_name = 'x'")
        assert cur.rowcount == -1
        await conn.close()
    run(main())
