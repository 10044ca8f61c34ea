"""pandas through a postgresql+lakelink engine, compared with postgresql+psycopg on the same
data: read_sql / read_sql_query / read_sql_table give the same frames (values and dtypes:
numeric as Decimal objects with coerce_float=False, timestamptz tz-aware), to_sql writes what
psycopg's engine writes, and nothing warns."""

from __future__ import annotations

import decimal
import urllib.parse
import warnings
from typing import Any, Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import registry

registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")

TABLE = "pandas_src"


@pytest.fixture()
def engines(lakebase_conn: str, emulator: dict[str, Any]) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """lakelink through the emulator (OAuth) and psycopg straight to its PostgreSQL, on the same tables."""
    lb = emulator["lakebase"]
    u = urllib.parse.urlparse(lb["postgres_url"])
    ll = sa.create_engine("postgresql+lakelink://", connect_args={"connection_string": lakebase_conn})
    pg = sa.create_engine(f"postgresql+psycopg://{u.username}:{u.password}@{u.hostname}:{u.port}/{lb['database']}")
    with pg.begin() as conn:  # the administrator: pandas_pg is its table
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}, pandas_ll, pandas_pg")
    with ll.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {TABLE} (id int PRIMARY KEY, amount numeric(12,3), ratio float8, at timestamptz, "
            "local timestamp, day date, label text, flag bool, doc jsonb, big bigint, key uuid, raw bytea)")
        conn.exec_driver_sql(
            f"INSERT INTO {TABLE} SELECT g, g * 1.5, g / 3.0, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 hour', "
            "'2024-01-01'::timestamp + g * interval '1 minute', '2024-01-01'::date + g, 'x' || g, mod(g, 2) = 0, "
            "jsonb_build_object('g', g), g * 10000000000, md5(g::text)::uuid, decode(md5(g::text), 'hex') "
            "FROM generate_series(1, 200) g")
        conn.exec_driver_sql(f"INSERT INTO {TABLE} (id) VALUES (0)")  # a row of NULLs
    try:
        yield ll, pg
    finally:
        with pg.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}, pandas_ll, pandas_pg")
        ll.dispose()
        pg.dispose()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    pd.testing.assert_frame_equal(a, b)


def test_read_sql_like_psycopg(engines: tuple[sa.Engine, sa.Engine]) -> None:
    ll, pg = engines
    query = f"SELECT * FROM {TABLE} ORDER BY id"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "pandas only supports SQLAlchemy connectable..." must not come
        for kw in ({}, {"coerce_float": False}, {"parse_dates": ["day"]}):
            _same(pd.read_sql(query, ll, **kw), pd.read_sql(query, pg, **kw))
        _same(pd.read_sql_query(sa.text(f"SELECT id, amount FROM {TABLE} WHERE id > :n ORDER BY id"), ll,
                                params={"n": 100}),
              pd.read_sql_query(sa.text(f"SELECT id, amount FROM {TABLE} WHERE id > :n ORDER BY id"), pg,
                                params={"n": 100}))
        _same(pd.read_sql_table(TABLE, ll).sort_values("id", ignore_index=True),
              pd.read_sql_table(TABLE, pg).sort_values("id", ignore_index=True))
        chunks = list(pd.read_sql(query, ll, chunksize=64))
        assert [len(c) for c in chunks] == [64, 64, 64, 9]
    exact = pd.read_sql(query, ll, coerce_float=False)
    assert isinstance(exact["amount"][1], decimal.Decimal) and exact["amount"][1] == decimal.Decimal("1.500")
    assert str(exact["at"].dtype) == "datetime64[us, UTC]" and exact["at"][1].tzinfo is not None
    assert exact["doc"][1] == {"g": 1} and isinstance(exact["raw"][1], bytes)


def test_to_sql_like_psycopg(engines: tuple[sa.Engine, sa.Engine]) -> None:
    ll, pg = engines
    frame = pd.DataFrame({
        "n": [1, 2, 3],
        "x": [0.5, None, 2.25],
        "s": ["a", None, "c"],
        "at": pd.to_datetime(["2024-01-01T10:00:00Z", "2024-02-01T00:00:00Z", None], utc=True),
        "naive": pd.to_datetime(["2024-01-01 10:00", None, "2024-03-01 00:00"]),
        "ok": [True, False, True],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frame.to_sql("pandas_ll", ll, index=False) == 3
        frame.to_sql("pandas_pg", pg, index=False)
        frame.iloc[:1].to_sql("pandas_ll", ll, index=False, if_exists="append", method="multi")
        frame.iloc[:1].to_sql("pandas_pg", pg, index=False, if_exists="append", method="multi")
    ll_cols = [(c["name"], str(c["type"])) for c in sa.inspect(pg).get_columns("pandas_ll")]
    pg_cols = [(c["name"], str(c["type"])) for c in sa.inspect(pg).get_columns("pandas_pg")]
    assert ll_cols == pg_cols
    _same(pd.read_sql("SELECT * FROM pandas_ll", pg), pd.read_sql("SELECT * FROM pandas_pg", pg))
