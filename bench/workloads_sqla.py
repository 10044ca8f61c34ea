"""The SQLAlchemy and pandas workloads of `make bench`, one run per process.

    LAKELINK_BENCH_CONFIG='{...}' python bench/workloads_sqla.py WORKLOAD IMPL

IMPL is "lakelink" (postgresql+lakelink) or "psycopg" (postgresql+psycopg), both
straight to the emulator's PostgreSQL with a password, as bench/workloads.py's
fetch is. It prints {"seconds": the measured part, "check": ...}: both sides must
give the same check.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sys
import time
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import registry

from workloads import FETCH_SQL

# The bench imports lakelink from the source tree, where the wheel's entry points are not installed.
registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")


def _engine(impl: str, cfg: dict[str, Any]) -> sa.Engine:
    if impl == "lakelink":
        return sa.create_engine("postgresql+lakelink://", connect_args={"connection_string": cfg["lakelink_pg"]})
    return sa.create_engine(cfg["pg_url"].replace("postgres://", "postgresql+psycopg://", 1))


class _Base(orm.DeclarativeBase):
    pass


class Reading(_Base):
    __tablename__ = "bench_sqla_reading"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    sensor: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    value: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(12, 3))
    taken: orm.Mapped[dt.datetime] = orm.mapped_column(sa.DateTime(timezone=True))
    ok: orm.Mapped[bool]


def orm_insert_select(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """cfg["n"] ORM objects added and committed (SQLAlchemy's insertmanyvalues, RETURNING the ids),
    then selected back as objects in a new session."""
    engine = _engine(impl, cfg)
    table = Reading.__table__
    table.drop(engine, checkfirst=True)  # type: ignore[attr-defined]
    table.create(engine)  # type: ignore[attr-defined]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    n = cfg["n"]
    t = time.perf_counter()
    with orm.Session(engine) as s:
        s.add_all([Reading(sensor=f"s{i % 97}", value=decimal.Decimal(i) / 8, taken=start + dt.timedelta(seconds=i),
                           ok=i % 3 == 0) for i in range(n)])
        s.commit()
    with orm.Session(engine) as s:
        got = s.scalars(sa.select(Reading).order_by(Reading.id)).all()
    sec = time.perf_counter() - t
    check = [len(got), str(sum(r.value for r in got)), got[-1].taken.isoformat(), sum(r.ok for r in got)]
    table.drop(engine)  # type: ignore[attr-defined]
    engine.dispose()
    return {"seconds": sec, "check": check}


def pandas_read_sql(impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """pandas.read_sql of bench/workloads.py's fetch query (cfg["rows"] rows, five types) through an engine."""
    import pandas as pd

    engine = _engine(impl, cfg)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # connected: the clock measures the read
    t = time.perf_counter()
    frame = pd.read_sql(FETCH_SQL % cfg["rows"], engine)
    sec = time.perf_counter() - t
    last = frame.iloc[-1]
    check = [len(frame), int(last.iloc[0]), float(last.iloc[4]), str(last.iloc[3]), [str(d) for d in frame.dtypes]]
    engine.dispose()
    return {"seconds": sec, "check": check}


WORKLOADS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "orm": orm_insert_select, "pandas": pandas_read_sql}

if __name__ == "__main__":
    name, impl, config = sys.argv[1], sys.argv[2], json.loads(os.environ["LAKELINK_BENCH_CONFIG"])
    print(json.dumps(WORKLOADS[name](impl, config)))
