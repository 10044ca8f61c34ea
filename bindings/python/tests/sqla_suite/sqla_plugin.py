"""The pytest plugin of the compliance suite (third-party dialects name it conftest.py; here it is
loaded with -p so that the binding's own test run never loads SQLAlchemy's plugin)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bindings/python: the lakelink package

from sqlalchemy.dialects import registry  # noqa: E402

registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")
registry.register("postgresql.lakelink_async", "lakelink.sqlalchemy", "LakelinkAsyncDialect")

# SQLAlchemy's provisioning for the postgresql backend (temporary tables, default schema...),
# which its own test suite imports and a third-party suite must.
import sqlalchemy.dialects.postgresql.provision  # noqa: E402,F401

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403

