"""The asyncio workloads of `make bench` (issue 17), one run per process, as bench/workloads.py's.

    LAKELINK_BENCH_CONFIG='{...}' python bench/workloads_async.py WORKLOAD IMPL

IMPL is "lakelink" (lakelink.aio: completions signalled through a descriptor
the loop watches), "asyncpg" (the peer), or "thread" (lakelink's blocking
calls through loop.run_in_executor: the thread-hop design lakelink.aio is
measured against, in RESULTS.md's hand-written part). Both sides get the
emulator's PostgreSQL directly, the default asyncio loop, and return the
same checks.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any, Callable, Coroutine

from workloads import FETCH_SQL


def _pg(sql: str) -> str:
    """sql with asyncpg's $n placeholders for %s."""
    n = 0
    out = []
    for part in sql.split("%s"):
        out.append(part)
        n += 1
        out.append(f"${n}")
    return "".join(out[:-1])


async def fetch(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["rows"] rows of five types, all fetched."""
    sql = FETCH_SQL % cfg["rows"]
    if impl == "asyncpg":
        import asyncpg
        conn = await asyncpg.connect(cfg["pg_url"])
        t = time.perf_counter()
        rows: list[Any] = await conn.fetch(sql)
        s = time.perf_counter() - t
        await conn.close()
    elif impl == "thread":
        c = await _thread_connect(cfg)
        t = time.perf_counter()
        rows = await _hop(lambda: c.execute(sql).fetchall())
        s = time.perf_counter() - t
        await _hop(c.close)
    else:
        import lakelink.aio
        conn = await lakelink.aio.connect(cfg["lakelink_pg"])
        t = time.perf_counter()
        cur = await conn.execute(sql)
        rows = await cur.fetchall()
        s = time.perf_counter() - t
        await conn.close()
    last = rows[-1]
    return {"seconds": s, "check": [len(rows), last[0], str(last[4]), last[3].isoformat()]}


async def roundtrips(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] sequential single-row `SELECT $1::int8` on one connection."""
    n, sql = cfg["n"], "SELECT %s::int8"
    total = 0
    if impl == "asyncpg":
        import asyncpg
        conn = await asyncpg.connect(cfg["pg_url"])
        q = _pg(sql)
        await conn.fetchrow(q, 0)
        t = time.perf_counter()
        for i in range(n):
            total += (await conn.fetchrow(q, i))[0]
        s = time.perf_counter() - t
        await conn.close()
    elif impl == "thread":
        c = await _thread_connect(cfg)
        cur = c.cursor()
        await _hop(lambda: cur.execute(sql, (0,)).fetchone())
        t = time.perf_counter()
        for i in range(n):
            total += (await _hop(lambda: cur.execute(sql, (i,)).fetchone()))[0]
        s = time.perf_counter() - t
        await _hop(c.close)
    else:
        import lakelink.aio
        conn = await lakelink.aio.connect(cfg["lakelink_pg"])
        await conn.set_autocommit(True)  # as asyncpg, which opens no transaction
        acur = conn.cursor()
        await acur.execute(sql, (0,))
        t = time.perf_counter()
        for i in range(n):
            await acur.execute(sql, (i,))
            total += (await acur.fetchone())[0]  # type: ignore[index]
        s = time.perf_counter() - t
        await conn.close()
    return {"seconds": s, "check": total}


async def pool(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] single-row queries, 100 at a time, on a pool of 10: each acquires, runs, releases."""
    n, sql, width = cfg["n"], "SELECT %s::int8", 100
    sem = asyncio.Semaphore(width)
    one: Callable[[int], Coroutine[Any, Any, int]]
    if impl == "asyncpg":
        import asyncpg
        p = await asyncpg.create_pool(cfg["pg_url"], min_size=10, max_size=10)
        q = _pg(sql)

        async def one(i: int) -> int:
            async with sem:
                async with p.acquire() as conn:
                    return int((await conn.fetchrow(q, i))[0])
        close: Callable[[], Coroutine[Any, Any, None]] = p.close
    elif impl == "thread":
        import lakelink
        sp = lakelink.ConnectionPool(cfg["lakelink_pg"], min_size=10, max_size=10)

        def blocking(i: int) -> int:
            with sp.connection() as conn:
                conn.autocommit = True
                return int(conn.execute(sql, (i,)).fetchone()[0])  # type: ignore[index]

        async def one(i: int) -> int:
            async with sem:
                return await _hop(lambda: blocking(i))

        async def close() -> None:
            sp.close()
    else:
        import lakelink.aio
        ap = lakelink.aio.AsyncConnectionPool(cfg["lakelink_pg"], min_size=10, max_size=10,
                                              kwargs={"autocommit": True})  # as asyncpg: no transaction
        await ap.open(wait=True)

        async def one(i: int) -> int:
            async with sem:
                async with ap.connection() as conn:
                    cur = await conn.execute(sql, (i,))
                    return int((await cur.fetchone())[0])  # type: ignore[index]
        close = ap.close
    await asyncio.gather(*(one(i) for i in range(width)))  # warm: every session open
    t = time.perf_counter()
    total = sum(await asyncio.gather(*(one(i) for i in range(n))))
    s = time.perf_counter() - t
    await close()
    return {"seconds": s, "check": total}


async def _thread_connect(cfg: dict[str, Any]) -> Any:
    import lakelink
    c = await _hop(lambda: lakelink.connect(cfg["lakelink_pg"]))
    c.autocommit = True
    return c


async def _hop(f: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, f)


WORKLOADS = {"async-fetch": fetch, "async-roundtrips": roundtrips, "async-pool": pool}

if __name__ == "__main__":
    name, impl, cfg = sys.argv[1], sys.argv[2], json.loads(os.environ["LAKELINK_BENCH_CONFIG"])
    print(json.dumps(asyncio.run(WORKLOADS[name](impl, cfg))))
