"""postgresql+lakelink_async (lakelink.sqlalchemy.LakelinkAsyncDialect, over lakelink.aio) against the
emulator: an async engine and ORM session, streaming, isolation levels, pre-ping, and the loop
kept free while a statement runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import registry
from sqlalchemy.ext.asyncio import AsyncAttrs, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from emutil import Backend

registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")
registry.register("postgresql.lakelink_async", "lakelink.sqlalchemy", "LakelinkAsyncDialect")


class Base(AsyncAttrs, orm.DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "sqla_async_note"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    body: orm.Mapped[str]
    score: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(8, 2))
    at: orm.Mapped[dt.datetime] = orm.mapped_column(sa.DateTime(timezone=True))
    meta: orm.Mapped[Optional[dict[str, Any]]] = orm.mapped_column(pg.JSONB)


def _engine(conn_str: str, url: str = "postgresql+lakelink_async://", **kw: Any) -> AsyncEngine:
    return create_async_engine(url, connect_args={"connection_string": conn_str}, **kw)


def test_async_engine_and_orm(lakebase_conn: str) -> None:
    async def main() -> None:
        engine = _engine(lakebase_conn)
        try:
            assert engine.dialect.driver == "lakelink" and engine.dialect.is_async
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
                await conn.run_sync(Base.metadata.create_all)
            at = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
            Session = async_sessionmaker(engine, expire_on_commit=False)
            async with Session() as s:
                s.add_all([Note(body=f"n{i}", score=decimal.Decimal(i) / 4, at=at, meta={"i": i}) for i in range(300)])
                await s.commit()
            async with Session() as s:
                notes = (await s.scalars(sa.select(Note).where(Note.score >= 50).order_by(Note.id))).all()
                assert len(notes) == 100 and notes[0].score == decimal.Decimal("50.00") and notes[0].at == at
                assert notes[-1].meta == {"i": 299}
                notes[0].body = "changed"
                await s.commit()
                assert await s.scalar(sa.select(Note.body).where(Note.id == notes[0].id)) == "changed"
            async with engine.connect() as conn:  # stream(): a server-side cursor, fetched as read
                result = await conn.stream(sa.select(Note.id).order_by(Note.id).execution_options(yield_per=64))
                ids = [row[0] async for row in result]
                assert len(ids) == 300 and ids == sorted(ids)
                big = await conn.stream(sa.text("SELECT g FROM generate_series(1, 20000) g"))
                total = 0
                async for part in big.partitions(5000):
                    total += sum(r[0] for r in part)
                assert total == 20000 * 20001 // 2
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_loop_keeps_running_during_a_statement(lakebase_conn: str) -> None:
    async def main() -> int:
        engine = _engine(lakebase_conn)
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql("SELECT pg_sleep(1)")
        finally:
            done.set()
            await task
            await engine.dispose()
        return ticks

    assert asyncio.run(main()) >= 10


def test_isolation_ping_and_the_sync_url(lakebase_conn: str, emulator: dict[str, Any]) -> None:
    async def main() -> None:
        # create_async_engine("postgresql+lakelink://") chooses the async dialect, as for psycopg.
        engine = _engine(lakebase_conn, "postgresql+lakelink://", isolation_level="SERIALIZABLE",
                         pool_pre_ping=True, pool_size=1, max_overflow=0)
        backend = Backend(emulator)
        try:
            assert type(engine.dialect).__name__ == "LakelinkAsyncDialect"
            async with engine.connect() as conn:
                assert await conn.get_isolation_level() == "SERIALIZABLE"
                pid = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
            async with engine.connect() as conn:
                conn2 = await conn.execution_options(isolation_level="AUTOCOMMIT")
                assert (await conn2.exec_driver_sql("SHOW transaction_isolation")).scalar() == "serializable"
            backend.sql("SELECT pg_terminate_backend(%s)", (pid,))
            async with engine.connect() as conn:  # the ping found the session lost: a new one
                assert (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar() != pid
        finally:
            backend.close()
            await engine.dispose()

    asyncio.run(main())


def test_async_session_factory_with_a_user_token_per_request(lakebase_conn: str) -> None:
    """The shape the FastAPI example uses: one engine, a session per request."""
    async def main() -> list[int]:
        engine = _engine(lakebase_conn, pool_size=4)
        try:
            async def one(i: int) -> int:
                async with AsyncSession(engine) as s:
                    return int((await s.execute(sa.text("SELECT CAST(:i AS int) * 2"), {"i": i})).scalar_one())
            return list(await asyncio.gather(*(one(i) for i in range(20))))
        finally:
            await engine.dispose()

    assert asyncio.run(main()) == [i * 2 for i in range(20)]
