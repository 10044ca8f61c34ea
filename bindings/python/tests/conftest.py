"""Fixtures: the lakelink emulator (started once per test session), connection strings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from emutil import Backend

HERE = Path(__file__).resolve().parent
PKG = HERE.parent  # bindings/python
REPO = PKG.parent.parent
OUT = REPO / "build" / "out"

sys.path.insert(0, str(PKG))
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def _need(path: Path) -> None:
    if not path.exists():
        pytest.exit(f"{path} is missing: run `make build` in {REPO} first (the tests need the CLI and "
                    "liblakelink.so it writes to build/out)", returncode=2)


def _run_emulator(*flags: str) -> Iterator[dict[str, Any]]:
    """Starts `lakelink emulator` with flags, yields its emulator.json, stops it."""
    cli = OUT / "lakelink"
    _need(cli)
    if "LAKELINK_LIBRARY" not in os.environ:
        _need(OUT / "liblakelink.so")
    state = Path(tempfile.mkdtemp(prefix="lakelink-py-emu-"))
    log = open(state / "emulator.log", "wb")
    proc = subprocess.Popen([str(cli), "emulator", "--state-dir", str(state), *flags], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    info_file = state / "emulator.json"
    deadline = time.monotonic() + 120
    try:
        while not info_file.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"the emulator exited ({proc.returncode}):\n{(state / 'emulator.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator was not ready in 120s:\n{(state / 'emulator.log').read_text()}")
            time.sleep(0.1)
        info = None
        while info is None:  # the file may be seen before it is complete
            try:
                info = json.loads(info_file.read_text())
            except ValueError:
                time.sleep(0.05)
        yield info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)  # the emulator's state: not left in the temporary directory


@pytest.fixture(scope="session")
def emulator() -> Iterator[dict[str, Any]]:
    """The emulator, its app with user authorization on (scope sql): it forwards X-Forwarded-Access-Token."""
    yield from _run_emulator("--app-user-scopes", "sql")


#: The lifetime of tokens and Lakebase credentials in short_ttl_emulator: tests wait out one expiry (at most this
#: long), and a credential the core hands out has a quarter of it left at least.
SHORT_TTL = 4


@pytest.fixture(scope="session")
def short_ttl_emulator() -> Iterator[dict[str, Any]]:
    """An emulator whose tokens and Lakebase credentials expire after SHORT_TTL seconds."""
    yield from _run_emulator("--token-ttl", f"{SHORT_TTL}s")


@pytest.fixture(scope="session")
def short_ttl_conn(short_ttl_emulator: dict[str, Any]) -> str:
    """Its service principal's Lakebase connection string (verify-full against its CA)."""
    lb = short_ttl_emulator["lakebase"]
    return (f"{_m2m(short_ttl_emulator, 'service_principal')};Server={lb['host']};Port={lb['port']};"
            f"Instance={lb['instance']};SSLMode=verify-full;SSLServerCert={lb['ca_file']}")


def _m2m(info: dict[str, Any], who: str) -> str:
    p = info[who]
    return f"Host={info['workspace_url']};OAuthClientId={p['client_id']};OAuthClientSecret={p['client_secret']}"


@pytest.fixture(scope="session")
def sp_conn(emulator: dict[str, Any]) -> str:
    """The service principal's M2M connection string (CAN USE on the app, Lakebase login)."""
    return _m2m(emulator, "service_principal")


@pytest.fixture(scope="session")
def outsider_conn(emulator: dict[str, Any]) -> str:
    return _m2m(emulator, "outsider")


@pytest.fixture(scope="session")
def lakebase_conn(emulator: dict[str, Any], sp_conn: str) -> str:
    lb = emulator["lakebase"]
    return (f"{sp_conn};Server={lb['host']};Port={lb['port']};Instance={lb['instance']};"
            f"SSLMode=verify-full;SSLServerCert={lb['ca_file']}")


@pytest.fixture()
def conn(lakebase_conn: str) -> Iterator[Any]:
    import lakelink

    c = lakelink.connect(lakebase_conn)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def backend(emulator: dict[str, Any]) -> Iterator[Any]:
    """The emulator's backing PostgreSQL as its administrator (emutil.Backend), one per test module."""
    b = Backend(emulator)
    yield b
    b.close()
