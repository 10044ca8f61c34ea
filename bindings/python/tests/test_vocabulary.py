"""The sync and async APIs speak one vocabulary: the same parameter names (connection_string, the pool's
sizes, autocommit, kwargs), and autocommit given at connect or to a pool works in both."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable

import pytest

import lakelink
import lakelink.aio


def _params(f: Callable[..., Any]) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(f).parameters.values() if p.name != "self"]


def test_connect_and_pools_take_the_same_names() -> None:
    assert _params(lakelink.connect) == _params(lakelink.aio.connect)
    assert _params(lakelink.aio.connect) == _params(lakelink.aio.AsyncConnection.connect)
    assert _params(lakelink.ConnectionPool) == _params(lakelink.aio.AsyncConnectionPool)
    assert _params(lakelink.token) == _params(lakelink.aio.token)
    assert _params(lakelink.App) == _params(lakelink.aio.App)
    for f in (lakelink.connect, lakelink.ConnectionPool, lakelink.token, lakelink.lakebase_credential,
              lakelink.asyncpg_kwargs, lakelink.psycopg_connection_class, lakelink.psycopg_async_connection_class,
              lakelink.lakebase_password):
        assert _params(f)[0] == ("connection_string", inspect.Parameter.POSITIONAL_OR_KEYWORD), f
    assert _params(lakelink.App)[:2] == [("url", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                                         ("connection_string", inspect.Parameter.POSITIONAL_OR_KEYWORD)]


def test_autocommit_at_connect_and_in_pools(lakebase_conn: str) -> None:
    def own_transactions(conn: Any) -> bool:
        """Whether two statements run in transactions of their own (autocommit)."""
        first = conn.execute("SELECT txid_current()").fetchone()
        return bool(first != conn.execute("SELECT txid_current()").fetchone())

    async def own_transactions_async(conn: Any) -> bool:
        a = await (await conn.execute("SELECT txid_current()")).fetchone()
        return bool(a != await (await conn.execute("SELECT txid_current()")).fetchone())

    with lakelink.connect(lakebase_conn, autocommit=True) as conn:
        assert conn.autocommit
        assert own_transactions(conn)
    with lakelink.connect(connection_string=lakebase_conn) as conn:
        assert not conn.autocommit
        assert not own_transactions(conn)
    with lakelink.ConnectionPool(connection_string=lakebase_conn, max_size=1, kwargs={"autocommit": True}) as pool:
        with pool.connection() as conn:
            assert conn.autocommit
            assert own_transactions(conn)
    with lakelink.ConnectionPool(lakebase_conn, max_size=1) as pool:
        with pool.connection() as conn:
            assert not conn.autocommit
            assert not own_transactions(conn)

    async def main() -> None:
        conn = await lakelink.aio.connect(connection_string=lakebase_conn, autocommit=True)
        async with conn:
            assert conn.autocommit
            assert await own_transactions_async(conn)
        async with lakelink.aio.AsyncConnectionPool(connection_string=lakebase_conn, max_size=1,
                                                    kwargs={"autocommit": True}) as apool:
            async with apool.connection() as aconn:
                assert aconn.autocommit
                assert await own_transactions_async(aconn)

    asyncio.run(main())


def test_pool_kwargs_hold_autocommit_only(lakebase_conn: str) -> None:
    for cls in (lakelink.ConnectionPool, lakelink.aio.AsyncConnectionPool):
        with pytest.raises(TypeError, match="kwargs may hold autocommit only"):
            cls(lakebase_conn, kwargs={"row_factory": None})
