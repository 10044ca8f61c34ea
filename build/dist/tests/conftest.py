"""Fixtures for the tests of `make dist`'s artifacts (build/out/dist/), each installed offline into a fresh
environment: the artifacts, the emulator (the Python binding's fixtures), fresh directories outside the checkout."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "build" / "out" / "dist"
VERSION = (REPO / "VERSION").read_text(encoding="utf-8").strip()
# The targets `make dist` built (its DIST_TARGETS).
TARGETS = os.environ.get("DIST_TARGETS", "linux-x86_64 linux-aarch64 windows-x86_64").split()

# The emulator and its connection strings: the Python binding's fixtures, one way to start it.
_spec = importlib.util.spec_from_file_location("lakelink_binding_fixtures", REPO / "bindings/python/tests/conftest.py")
assert _spec and _spec.loader
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
emulator, sp_conn, lakebase_conn = _fixtures.emulator, _fixtures.sp_conn, _fixtures.lakebase_conn


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of an installed program: nothing pointing into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LAKELINK_LIBRARY", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "NODE_PATH")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(cmd: list[object], cwd: Path, timeout: float = 600, **env: str) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def artifact(name: str) -> Path:
    p = DIST / name
    assert p.is_file(), f"{p} is missing: run `make dist`"
    return p


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """An empty directory outside the checkout."""
    assert REPO.resolve() not in tmp_path.resolve().parents
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d
