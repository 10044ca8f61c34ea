"""SQLAlchemy's dialect compliance suite (sqlalchemy.testing.suite) for postgresql+lakelink.

The suite runs in a pytest of its own (tests/sqla_suite: setup.cfg, requirements.py, its
plugin), as third-party dialects run it, against the emulator's PostgreSQL server reached
directly with AuthScheme=Password: the suite checks the dialect (SQL, types, reflection) and
needs a role that creates schemas and many tables; the OAuth path through the emulator is
tests/test_sqlalchemy.py's. It runs once per dialect (postgresql+lakelink and
postgresql+lakelink_async, as SQLAlchemy runs it for psycopg and its async form). Its counts
are printed; any failure or error fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from emutil import Backend

SUITE = Path(__file__).resolve().parent / "sqla_suite"


@pytest.mark.parametrize("driver", ["lakelink", "lakelink_async"])
def test_compliance_suite(emulator: dict[str, Any], driver: str) -> None:
    u = urllib.parse.urlparse(emulator["lakebase"]["postgres_url"])
    # A database of its own: the suite's reflection tests list every table of the default schema,
    # which the other tests of the session share.
    database = f"sqla_suite_{driver}"
    backend = Backend(emulator)
    try:
        backend.sql(f"DROP DATABASE IF EXISTS {database}")
        backend.sql(f"CREATE DATABASE {database}")
    finally:
        backend.close()
    backend = Backend({**emulator, "lakebase": {**emulator["lakebase"], "database": database}})
    try:
        for schema in ("test_schema", "test_schema_2"):  # the suite's schemas, as its README asks
            backend.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    finally:
        backend.close()
    dburi = (f"postgresql+{driver}://{u.username}:{u.password}@{u.hostname}:{u.port}/{database}"
             "?AuthScheme=Password&SSLMode=disable")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "sqla_plugin", "suite.py", "-q", "--dburi", dburi],
                          cwd=SUITE, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    print(f"\nSQLAlchemy compliance suite, postgresql+{driver}:", summary)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|errors?)", summary)}
    assert proc.returncode == 0 and counts.get("passed", 0) > 1500, proc.stdout[-20000:] + proc.stderr[-5000:]
    assert not counts.get("failed") and not counts.get("error") and not counts.get("errors")
