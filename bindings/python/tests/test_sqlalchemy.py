"""postgresql+lakelink (lakelink.sqlalchemy.LakelinkDialect) against the emulator, over OAuth:
both URL forms, Core and ORM, streaming, isolation levels, pre-ping and lost sessions."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any, Iterator, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import registry
from sqlalchemy.ext.asyncio import create_async_engine

from emutil import Backend

# The wheel registers these as entry points; the tests import lakelink from the source tree.
registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")
registry.register("postgresql.lakelink_async", "lakelink.sqlalchemy", "LakelinkAsyncDialect")


@pytest.fixture()
def engine(lakebase_conn: str) -> Iterator[sa.Engine]:
    e = sa.create_engine("postgresql+lakelink://", connect_args={"connection_string": lakebase_conn})
    try:
        yield e
    finally:
        e.dispose()


class Base(orm.DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "sqla_customer"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(50))
    balance: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(12, 2))
    joined: orm.Mapped[dt.datetime] = orm.mapped_column(sa.DateTime(timezone=True))
    tags: orm.Mapped[Optional[list[str]]] = orm.mapped_column(pg.ARRAY(sa.Text))
    extra: orm.Mapped[Optional[dict[str, Any]]] = orm.mapped_column(pg.JSONB)
    key: orm.Mapped[uuid.UUID] = orm.mapped_column(default=uuid.uuid4)
    orders: orm.Mapped[list[Order]] = orm.relationship(back_populates="customer", cascade="all, delete-orphan")


class Order(Base):
    __tablename__ = "sqla_order"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    customer_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("sqla_customer.id"))
    total: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(10, 2))
    customer: orm.Mapped[Customer] = orm.relationship(back_populates="orders")


def test_core_and_orm_round_trip(engine: sa.Engine) -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        joined = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
        with orm.Session(engine) as s:
            c = Customer(name="Ada", balance=decimal.Decimal("10.50"), joined=joined, tags=["a", "b"],
                         extra={"tier": 1, "nested": [1, None]},
                         orders=[Order(total=decimal.Decimal("1.25")), Order(total=decimal.Decimal("2.00"))])
            s.add(c)
            s.add_all([Customer(name=f"c{i}", balance=i, joined=joined) for i in range(50)])  # insertmanyvalues
            s.commit()
            cid = c.id
        with orm.Session(engine) as s:
            got = s.scalars(sa.select(Customer).where(Customer.name == "Ada")).one()
            assert got.id == cid and got.balance == decimal.Decimal("10.50") and got.joined == joined
            assert got.joined.tzinfo is not None and got.tags == ["a", "b"]
            assert got.extra == {"tier": 1, "nested": [1, None]} and isinstance(got.key, uuid.UUID)
            assert sorted(o.total for o in got.orders) == [decimal.Decimal("1.25"), decimal.Decimal("2.00")]
            total = s.scalar(sa.select(sa.func.sum(Order.total)).join(Customer).where(Customer.id == cid))
            assert total == decimal.Decimal("3.25")
            got.balance += 1
            s.commit()
            assert s.scalar(sa.select(Customer.balance).where(Customer.id == cid)) == decimal.Decimal("11.50")
            assert s.scalar(sa.select(sa.func.count()).select_from(Customer)) == 51
            s.delete(got)
            s.commit()
            assert s.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
        with engine.connect() as conn:  # a literal bind of unknown type, and a % in SQL text
            assert conn.execute(sa.select(sa.literal(5) + 2)).scalar() == 7
            assert conn.execute(sa.text("SELECT 7 % 3, CAST(:x AS int)"), {"x": 2}).one() == (1, 2)
            assert conn.exec_driver_sql("SELECT 7 %% 3").scalar() == 1
        insp = sa.inspect(engine)
        assert {"sqla_customer", "sqla_order"} <= set(insp.get_table_names())
        assert [c["name"] for c in insp.get_columns("sqla_order")] == ["id", "customer_id", "total"]
    finally:
        Base.metadata.drop_all(engine)


def test_stream_results_and_yield_per(engine: sa.Engine) -> None:
    n = 25_000
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=1000).execute(
            sa.text("SELECT g, g::text FROM generate_series(1, :n) g"), {"n": n})
        seen = 0
        for partition in result.partitions(5000):
            seen += len(partition)
        assert seen == n
        total = sum(r[0] for r in conn.execution_options(yield_per=2000).execute(
            sa.text("SELECT g FROM generate_series(1, :n) g"), {"n": n}))
        assert total == n * (n + 1) // 2


def test_isolation_levels_and_readonly(lakebase_conn: str) -> None:
    e = sa.create_engine("postgresql+lakelink://", connect_args={"connection_string": lakebase_conn},
                         isolation_level="REPEATABLE READ")
    try:
        with e.connect() as conn:
            assert conn.get_isolation_level() == "REPEATABLE READ"
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "repeatable read"
        with e.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
            conn.exec_driver_sql("SELECT 1")
        with e.connect().execution_options(isolation_level="SERIALIZABLE") as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "serializable"
        with e.connect() as conn:  # reset when the session came back to the pool
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "repeatable read"
        with e.connect().execution_options(postgresql_readonly=True) as conn:
            with pytest.raises(sa.exc.InternalError, match="read-only"):
                conn.exec_driver_sql("CREATE TEMP TABLE ro (x int)")
    finally:
        e.dispose()


def test_pre_ping_replaces_a_lost_session(lakebase_conn: str, emulator: dict[str, Any]) -> None:
    e = sa.create_engine("postgresql+lakelink://", pool_size=1, max_overflow=0,
                         connect_args={"connection_string": lakebase_conn, "ApplicationName": "sqla-ping"})
    backend = Backend(emulator)
    try:
        with e.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        backend.sql("SELECT pg_terminate_backend(%s)", (pid,))
        with e.connect() as conn:  # no pre-ping: the error says the session was lost
            with pytest.raises(sa.exc.DBAPIError) as info:
                conn.exec_driver_sql("SELECT 1")
            assert info.value.connection_invalidated
        with e.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        e2 = sa.create_engine("postgresql+lakelink://", pool_pre_ping=True, pool_size=1, max_overflow=0,
                              connect_args={"connection_string": lakebase_conn})
        with e2.connect() as conn:
            pid2 = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        backend.sql("SELECT pg_terminate_backend(%s)", (pid2,))
        with e2.connect() as conn:  # the ping found it lost: a new session, no error
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid2
            assert conn.exec_driver_sql("SELECT current_setting('transaction_isolation')").scalar()
        e2.dispose()
    finally:
        backend.close()
        e.dispose()


def test_url_form_with_identity_from_the_environment(emulator: dict[str, Any]) -> None:
    """postgresql+lakelink://SERVER:PORT/DATABASE?Instance=... with DATABRICKS_* as inside an App
    (in a process of its own: the library reads the environment when it loads)."""
    lb, sp = emulator["lakebase"], emulator["service_principal"]
    env = {**os.environ, "DATABRICKS_HOST": emulator["workspace_url"], "DATABRICKS_CLIENT_ID": sp["client_id"],
           "DATABRICKS_CLIENT_SECRET": sp["client_secret"]}
    url = (f"postgresql+lakelink://{lb['host']}:{lb['port']}/{lb['database']}?Instance={lb['instance']}"
           f"&SSLMode=verify-full&SSLServerCert={lb['ca_file']}")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))!r})
        import sqlalchemy as sa
        from sqlalchemy.dialects import registry
        registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")
        e = sa.create_engine({url!r})
        with e.connect() as c:
            print(c.exec_driver_sql("SELECT current_user, current_database()").one())
        e.dispose()
    """)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sp["client_id"] in out.stdout and lb["database"] in out.stdout
    # The URL's parts become properties; a repeated one is refused.
    dialect = sa.create_engine(url).dialect
    with pytest.raises(sa.exc.ArgumentError, match="more than once"):
        dialect.create_connect_args(sa.make_url(url + "&Instance=other"))
    args = dialect.create_connect_args(sa.make_url(url))
    assert args == ([], {"Server": lb["host"], "Port": lb["port"], "Database": lb["database"],
                         "Instance": lb["instance"], "SSLMode": "verify-full", "SSLServerCert": lb["ca_file"]})


def test_errors_map_to_sqlalchemy(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE u (id int primary key)")
        conn.exec_driver_sql("INSERT INTO u VALUES (1)")
        with pytest.raises(sa.exc.IntegrityError) as info:
            conn.exec_driver_sql("INSERT INTO u VALUES (1)")
        assert info.value.orig.sqlstate == "23505"  # type: ignore[union-attr]
        assert not info.value.connection_invalidated
        conn.rollback()
        with pytest.raises(sa.exc.ProgrammingError):
            conn.exec_driver_sql("SELECT * FROM no_such_table")


@pytest.mark.parametrize("query, name", [("oauthclientsecret=", "OAuthClientSecret"), ("Token=", "Token"),
                                         ("Password=", "Password"), ("Host=https%3A%2F%2Fu%3A", "Host")])
def test_url_query_refuses_secrets(query: str, name: str) -> None:
    """SQLAlchemy masks only the URL's password, so a secret property in its query (lakelink's rule: one that
    normalize masks) is refused, the error naming the property and where to give it, never the value."""
    secret = "s3cr3t-xyzzy-4711"
    url = f"postgresql+lakelink://db.example:5432/postgres?Instance=my-db&{query}{secret}" + \
        ("%40ws.example" if name == "Host" else "")
    for make in (sa.create_engine, create_async_engine):
        with pytest.raises(sa.exc.ArgumentError) as err:
            make(url)
        message = str(err.value)
        assert secret not in message and name in message and "connect_args" in message
    # Other properties pass on as given; a bad one is refused at create_engine, its key named.
    e = sa.create_engine("postgresql+lakelink://db.example/postgres?Instance=my-db&SSLMode=VERIFY-FULL")
    assert e.dialect.create_connect_args(e.url)[1]["SSLMode"] == "VERIFY-FULL"
    with pytest.raises(sa.exc.ArgumentError, match="Nope"):
        sa.create_engine("postgresql+lakelink://db.example/postgres?Nope=1")
