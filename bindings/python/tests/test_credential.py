"""lakelink.lakebase_credential and the one-line adapters of bindings/python/README.md, each across a credential expiry.

The adapters' tests run against short_ttl_emulator, whose credentials live SHORT_TTL seconds: each logs in, waits
until the credential it used has expired (the emulator's gateway then refuses it: expired() checks), and logs in
again through the same adapter, which must have fetched a fresh one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

import lakelink


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def expired(conn_str: str, cred: lakelink.LakebaseCredential) -> lakelink.LakebaseCredential:
    """Waits until cred has expired, checks that the server refuses it then, and returns the fresh credential."""
    assert cred.expires_at is not None
    time.sleep(max(0.0, (cred.expires_at - _now()).total_seconds()) + 0.3)
    import psycopg

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**cred.psycopg_kwargs(), connect_timeout=10).close()
    fresh = lakelink.lakebase_credential(conn_str)
    assert fresh.password != cred.password and fresh.expires_at is not None and fresh.expires_at > _now()
    return fresh


def test_credential(lakebase_conn: str, emulator: dict[str, Any], sp_conn: str) -> None:
    cred = lakelink.lakebase_credential(lakebase_conn, ApplicationName="cred-test")
    lb = emulator["lakebase"]
    assert (cred.host, cred.port, cred.database, cred.user) == (lb["host"], lb["port"], lb["database"],
                                                                emulator["service_principal"]["client_id"])
    assert cred.sslmode == "verify-full" and cred.sslrootcert == lb["ca_file"]
    assert cred.application_name == "cred-test"
    assert cred.password and cred.expires_at is not None and cred.expires_at.tzinfo is not None
    assert dt.timedelta(minutes=50) < cred.expires_at - _now() <= dt.timedelta(hours=1)
    for shown in (repr(cred), str(cred), f"{cred!r}", str(dataclasses.replace(cred, host="h"))):
        assert cred.password not in shown and "password" not in shown
    with pytest.raises(dataclasses.FrozenInstanceError):
        cred.password = "x"  # type: ignore[misc]
    assert lakelink.lakebase_credential(lakebase_conn).password == cred.password  # cached per identity

    # Without Instance or Endpoint the workspace token is the password; ApplicationName not given: None.
    ws = lakelink.lakebase_credential(sp_conn, Server=lb["host"], Port=lb["port"], SSLMode="require")
    assert ws.password == lakelink.token(sp_conn).access_token
    assert ws.sslmode == "require" and ws.sslrootcert is None and ws.application_name is None

    kw = cred.psycopg_kwargs()
    assert kw == {"host": cred.host, "port": cred.port, "dbname": cred.database, "user": cred.user,
                  "password": cred.password, "sslmode": "verify-full", "sslrootcert": lb["ca_file"],
                  "application_name": "cred-test"}


def test_given_password_has_no_expiry(emulator: dict[str, Any]) -> None:
    cred = lakelink.lakebase_credential(f"AuthScheme=Password;Server={emulator['lakebase']['host']};User=u;"
                                        "Password=pw-given;SSLMode=disable")
    assert cred.password == "pw-given" and cred.expires_at is None and cred.asyncpg_kwargs()["ssl"] is False


def test_ca_as_text_is_written_once(lakebase_conn: str, emulator: dict[str, Any]) -> None:
    """PEM text as SSLServerCert comes back as one file (named by its hash, under the user's cache directory),
    the same for every call, that psycopg checks the server with."""
    import psycopg

    pem = Path(emulator["lakebase"]["ca_file"]).read_text()
    creds = [lakelink.lakebase_credential(lakebase_conn, SSLServerCert=pem) for _ in range(3)]
    paths = {c.sslrootcert for c in creds}
    assert len(paths) == 1
    path = Path(paths.pop() or "")
    assert path.read_text() == pem and path.name.startswith("ca-") and path.stat().st_mode & 0o077 == 0
    with psycopg.connect(**creds[0].psycopg_kwargs()) as c:
        assert c.info.pgconn.ssl_in_use


def test_errors_hold_no_secret(emulator: dict[str, Any], lakebase_conn: str) -> None:
    with pytest.raises(lakelink.ProgrammingError):
        lakelink.lakebase_credential("Server=x;Port=notaport")
    secret = emulator["service_principal"]["client_secret"]
    with pytest.raises(lakelink.OperationalError) as e:
        lakelink.lakebase_credential(lakebase_conn.replace(secret, "wrong-secret-123"))
    assert "wrong-secret-123" not in str(e.value) and secret not in str(e.value)


def test_asyncpg_ssl_context(emulator: dict[str, Any], lakebase_conn: str) -> None:
    """asyncpg takes no CA file: the context checks what sslmode says."""
    import ssl

    cred = lakelink.lakebase_credential(lakebase_conn)
    full = cred.asyncpg_kwargs()["ssl"]
    assert full.check_hostname and full.verify_mode == ssl.CERT_REQUIRED
    ca = dataclasses.replace(cred, sslmode="verify-ca").asyncpg_kwargs()["ssl"]
    assert not ca.check_hostname and ca.verify_mode == ssl.CERT_REQUIRED
    req = dataclasses.replace(cred, sslmode="require", sslrootcert=None).asyncpg_kwargs()["ssl"]
    assert not req.check_hostname and req.verify_mode == ssl.CERT_NONE


# ---- the adapters, across an expiry ----

def test_psycopg_connect(short_ttl_conn: str) -> None:
    import psycopg

    cred = lakelink.lakebase_credential(short_ttl_conn)
    with psycopg.connect(**cred.psycopg_kwargs()) as c:
        assert c.execute("SELECT current_user").fetchone() == (cred.user,)
    expired(short_ttl_conn, cred)
    with psycopg.connect(**lakelink.lakebase_credential(short_ttl_conn).psycopg_kwargs()) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_psycopg2_connect(short_ttl_conn: str) -> None:
    import psycopg2

    cred = lakelink.lakebase_credential(short_ttl_conn)
    c = psycopg2.connect(**cred.psycopg_kwargs())
    c.close()
    expired(short_ttl_conn, cred)
    c = psycopg2.connect(**lakelink.lakebase_credential(short_ttl_conn).psycopg_kwargs())
    with c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    c.close()


def test_psycopg_pool(short_ttl_conn: str) -> None:
    """A pool's connections opened after the first credential expired log in with a fresh one."""
    from psycopg_pool import ConnectionPool

    with ConnectionPool(connection_class=lakelink.psycopg_connection_class(short_ttl_conn),
                        min_size=1, max_size=3, kwargs={"autocommit": True}) as pool:
        pool.wait()
        cred = lakelink.lakebase_credential(short_ttl_conn)
        with pool.connection() as c:
            assert c.autocommit and c.execute("SELECT 1").fetchone() == (1,)
        expired(short_ttl_conn, cred)
        before = pool.get_stats().get("connections_num", 0)
        with pool.connection() as a, pool.connection() as b, pool.connection() as c:  # two new ones at least
            pids = {x.execute("SELECT pg_backend_pid()").fetchone() for x in (a, b, c)}
        assert len(pids) == 3 and pool.get_stats().get("connections_num", 0) - before >= 2
        assert pool.get_stats().get("connections_errors", 0) == 0


def test_psycopg_async_pool(short_ttl_conn: str) -> None:
    from psycopg_pool import AsyncConnectionPool

    async def run() -> None:
        async with AsyncConnectionPool(connection_class=lakelink.psycopg_async_connection_class(short_ttl_conn),
                                       min_size=1, max_size=2) as pool:
            cred = lakelink.lakebase_credential(short_ttl_conn)
            async with pool.connection() as c:
                assert await (await c.execute("SELECT 1")).fetchone() == (1,)
            await asyncio.to_thread(expired, short_ttl_conn, cred)
            async with pool.connection() as a, pool.connection() as b:
                for x in (a, b):
                    assert await (await x.execute("SELECT 1")).fetchone() == (1,)
            assert pool.get_stats().get("connections_errors", 0) == 0

    asyncio.run(run())


def test_asyncpg(short_ttl_conn: str) -> None:
    """asyncpg_kwargs' password is a function asyncpg calls at each login: the same keywords work past expiry,
    for connect and for a pool's new connections."""
    import asyncpg

    async def run() -> None:
        kw = lakelink.asyncpg_kwargs(short_ttl_conn)
        cred = lakelink.lakebase_credential(short_ttl_conn)
        c = await asyncpg.connect(**kw)
        assert await c.fetchval("SELECT current_user") == cred.user
        await c.close()
        pool = await asyncpg.create_pool(**kw, min_size=1, max_size=2)
        try:
            await asyncio.to_thread(expired, short_ttl_conn, cred)
            c = await asyncpg.connect(**kw)
            assert await c.fetchval("SELECT 1") == 1
            await c.close()
            async with pool.acquire() as a, pool.acquire() as b:  # b is new
                assert await a.fetchval("SELECT 1") == await b.fetchval("SELECT 1") == 1
        finally:
            await pool.close()
        # A credential's own keywords: for one connection now.
        c = await asyncpg.connect(**lakelink.lakebase_credential(short_ttl_conn).asyncpg_kwargs())
        await c.close()

    asyncio.run(run())


def test_sqlalchemy_psycopg(short_ttl_conn: str) -> None:
    import sqlalchemy as sa

    cs = short_ttl_conn
    engine = sa.create_engine("postgresql+psycopg://")  # as README.md shows it
    sa.event.listen(engine, "do_connect",
                    lambda dialect, rec, cargs, cparams: cparams.update(lakelink.lakebase_credential(cs).psycopg_kwargs()))

    try:
        cred = lakelink.lakebase_credential(short_ttl_conn)
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT current_user")).scalar() == cred.user
        expired(short_ttl_conn, cred)
        with engine.connect() as a, engine.connect() as b:  # b is new
            assert a.execute(sa.text("SELECT 1")).scalar() == b.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_sqlalchemy_asyncpg(short_ttl_conn: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine("postgresql+asyncpg://", connect_args=lakelink.asyncpg_kwargs(short_ttl_conn))
        try:
            cred = lakelink.lakebase_credential(short_ttl_conn)
            async with engine.connect() as c:
                assert (await c.execute(text("SELECT current_user"))).scalar() == cred.user
            await asyncio.to_thread(expired, short_ttl_conn, cred)
            async with engine.connect() as a, engine.connect() as b:
                assert (await a.execute(text("SELECT 1"))).scalar() == (await b.execute(text("SELECT 1"))).scalar()
        finally:
            await engine.dispose()

    asyncio.run(run())

