"""Alembic over postgresql+lakelink against the emulator: autogenerate a migration from a small
model, upgrade, change the model, autogenerate and upgrade again, then `alembic check` finds
nothing left (reflection matches the model: types, nullability, indexes, foreign keys)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import registry

registry.register("postgresql.lakelink", "lakelink.sqlalchemy", "LakelinkDialect")

ENV_PY = '''
from alembic import context
import model

config = context.config
# The test hands its connection over (Alembic's "sharing a connection" recipe).
with config.attributes["connection"] as connection:
    context.configure(connection=connection, target_metadata=model.metadata)
    with context.begin_transaction():
        context.run_migrations()
'''

MODEL_V1 = '''
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()
sa.Table("alembic_item", metadata,
         sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
         sa.Column("name", sa.String(80), nullable=False, index=True),
         sa.Column("price", sa.Numeric(10, 2)),
         sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
         sa.Column("attrs", pg.JSONB))
'''

MODEL_V2 = MODEL_V1 + '''
sa.Table("alembic_tag", metadata,
         sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("item_id", sa.BigInteger, sa.ForeignKey("alembic_item.id"), nullable=False),
         sa.Column("labels", pg.ARRAY(sa.Text)),
         sa.UniqueConstraint("item_id", "id"))
metadata.tables["alembic_item"].append_column(sa.Column("stock", sa.Integer, nullable=True))
'''


@pytest.fixture()
def engine(lakebase_conn: str) -> Iterator[sa.Engine]:
    e = sa.create_engine("postgresql+lakelink://", connect_args={"connection_string": lakebase_conn})
    with e.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_tag, alembic_item, alembic_version")
    try:
        yield e
    finally:
        with e.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_tag, alembic_item, alembic_version")
        e.dispose()


def _config(tmp_path: Path) -> Config:
    (tmp_path / "versions").mkdir(exist_ok=True)
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "script.py.mako").write_text(textwrap.dedent('''\
        """${message}"""
        from alembic import op
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql
        ${imports if imports else ""}
        revision = ${repr(up_revision)}
        down_revision = ${repr(down_revision)}
        branch_labels = None
        depends_on = None


        def upgrade():
            ${upgrades if upgrades else "pass"}


        def downgrade():
            ${downgrades if downgrades else "pass"}
        '''))
    cfg = Config()
    cfg.set_main_option("script_location", str(tmp_path))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("prepend_sys_path", str(tmp_path))
    return cfg


def _run(engine: sa.Engine, cfg: Config, fn: object, *args: object, **kw: object) -> None:
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, *args, **kw)  # type: ignore[operator]
        conn.commit()


def test_autogenerate_and_upgrade(engine: sa.Engine, tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    (tmp_path / "model.py").write_text(MODEL_V1)
    _run(engine, cfg, command.revision, autogenerate=True, message="items", rev_id="0001")
    first = (tmp_path / "versions" / "0001_items.py").read_text()
    assert 'op.create_table("alembic_item"' in first.replace("'", '"')
    assert "op.create_index" in first
    _run(engine, cfg, command.upgrade, "head")
    _run(engine, cfg, command.check)  # nothing to generate: the database is the model

    (tmp_path / "model.py").write_text(MODEL_V2)
    sys.modules.pop("model", None)
    importlib.invalidate_caches()
    _run(engine, cfg, command.revision, autogenerate=True, message="tags", rev_id="0002")
    second = (tmp_path / "versions" / "0002_tags.py").read_text().replace("'", '"')
    assert 'op.create_table("alembic_tag"' in second and 'op.add_column("alembic_item"' in second
    assert "drop" not in second.split("def downgrade")[0].lower()  # nothing spurious in upgrade
    _run(engine, cfg, command.upgrade, "head")
    _run(engine, cfg, command.check)
    sys.modules.pop("model", None)

    insp = sa.inspect(engine)
    assert [c["name"] for c in insp.get_columns("alembic_item")][-1] == "stock"
    assert insp.get_foreign_keys("alembic_tag")[0]["referred_table"] == "alembic_item"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
    _run(engine, cfg, command.downgrade, "0001")
    assert "alembic_tag" not in sa.inspect(engine).get_table_names()
