"""PEP 249 details and bulk work (issue 17 item 6, issue 18 item 3): several statements in one execute,
rowcount -1, executemany as one pipelined batch, cursor.copy() as psycopg's, row factories, conn.execute.

Each test runs against the emulator (Lakebase login through its gateway) and against its backing
PostgreSQL server directly (a password login): the same answers from both. One more runs across
credential expiries (an emulator with --token-ttl 2s).
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import urllib.parse
import uuid
from typing import Any, Iterator

import pytest

import lakelink
from lakelink.rows import dict_row, namedtuple_row, tuple_row

from conftest import _run_emulator


@pytest.fixture(scope="module")
def postgres_conn(emulator: dict[str, Any]) -> str:
    """The emulator's backing PostgreSQL server, logged in to with a password (no Lakebase)."""
    u = urllib.parse.urlparse(emulator["lakebase"]["postgres_url"])
    return (f"AuthScheme=Password;User={u.username};Password={urllib.parse.unquote(u.password or '')};"
            f"Server={u.hostname};Port={u.port};Database={emulator['lakebase']['database']};SSLMode=disable")


@pytest.fixture(params=["emulator", "postgres"])
def db(request: pytest.FixtureRequest, lakebase_conn: str, postgres_conn: str) -> Iterator[lakelink.Connection]:
    c = lakelink.connect(lakebase_conn if request.param == "emulator" else postgres_conn)
    try:
        yield c
    finally:
        c.close()


def _table(db: lakelink.Connection, name: str, columns: str) -> str:
    db.execute(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({columns})")
    db.commit()
    return name


def test_several_statements_and_rowcount(db: lakelink.Connection) -> None:
    cur = db.cursor()
    cur.execute("drop table if exists bulk_multi; create table bulk_multi (id int, s text)")
    assert cur.rowcount == -1 and cur.description is None and cur.statusmessage == "CREATE TABLE"
    cur.execute("insert into bulk_multi values (1, 'a;b'); insert into bulk_multi values (2, $$;$$), (3, '--')")
    assert cur.rowcount == 2 and cur.statusmessage == "INSERT 0 2"
    db.commit()
    cur.execute("set search_path = public; select id, s from bulk_multi order by id -- ; a comment")
    assert cur.fetchall() == [(1, "a;b"), (2, ";"), (3, "--")] and cur.rowcount == 3
    cur.execute("select 1; select 'x'::text as name, 2.5::numeric as n, now()::date as d")
    assert [c.name for c in cur.description or ()] == ["name", "n", "d"]
    assert cur.fetchone() == ("x", decimal.Decimal("2.5"), dt.date.today())
    # With parameters, one statement (its semicolons inside a string are no statement's end).
    cur.execute("select %s::text || ';' || %s::text", ("a", "b"))
    assert cur.fetchone() == ("a;b",)
    with pytest.raises(lakelink.ProgrammingError):
        cur.execute("select 1; select * from no_such_table_here; select 3")
    db.rollback()
    for sql in ("SET application_name = 'x'", "CREATE TEMP TABLE bulk_tmp (a int)", "BEGIN", "COMMIT"):
        cur.execute(sql)
        assert cur.rowcount == -1, sql
    cur.execute("drop table bulk_multi")
    db.commit()


def test_executemany(db: lakelink.Connection) -> None:
    t = _table(db, "bulk_many", "id int primary key, s text, f float8, d date, u uuid, n numeric, j jsonb")
    u = uuid.uuid4()
    rows = [(i, f"s{i}", i / 2, dt.date(2024, 1, 1) + dt.timedelta(days=i), u, decimal.Decimal(i) / 4,
             {"i": i}) for i in range(3000)]
    cur = db.cursor()
    cur.executemany(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
    assert cur.rowcount == 3000
    db.commit()
    cur.execute(f"SELECT count(*), sum(id), sum(f), max(d), count(DISTINCT u), sum(n), sum((j->>'i')::int) FROM {t}")
    assert cur.fetchone() == (3000, 4498500, 2249250.0, dt.date(2024, 1, 1) + dt.timedelta(days=2999), 1,
                              decimal.Decimal(4498500) / 4, 4498500)
    # Named placeholders, and an UPDATE's total.
    cur.executemany(f"UPDATE {t} SET s = %(s)s WHERE id = %(id)s", [{"id": 1, "s": "one"}, {"id": 2, "s": "two"},
                                                                    {"id": -5, "s": "none"}])
    assert cur.rowcount == 2
    # A failing row fails the batch: in a transaction, which is then rolled back.
    with pytest.raises(lakelink.IntegrityError):
        cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", [(10000,), (1,)])
    db.rollback()
    cur.execute(f"SELECT count(*) FROM {t} WHERE id = 10000 OR s = 'one'")
    assert cur.fetchone() == (0,)
    db.rollback()
    # Autocommit: one implicit transaction for the batch.
    db.autocommit = True
    with pytest.raises(lakelink.IntegrityError):
        cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", [(10000,), (1,)])
    cur.execute(f"SELECT count(*) FROM {t} WHERE id = 10000")
    assert cur.fetchone() == (0,)
    cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", iter([(20000,), (20001,)]))  # any iterable
    assert cur.rowcount == 2
    cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", [])
    assert cur.rowcount == 0
    with pytest.raises(lakelink.ProgrammingError):
        cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", [(1, 2)])
    with pytest.raises(lakelink.ProgrammingError):
        cur.executemany(f"INSERT INTO {t} (id) VALUES (%s)", [(object(),)])
    cur.execute(f"DROP TABLE {t}")


def test_copy_in(db: lakelink.Connection) -> None:
    t = _table(db, "bulk_copy", "id int, s text, b bytea, a int[], ts timestamptz, n numeric, j jsonb")
    cur = db.cursor()
    ts = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    with cur.copy(f"COPY {t} FROM STDIN") as copy:
        copy.write_row((1, "tab\there\nnewline \\ backslash", b"\x00\\\xff", [1, None, 3], ts,
                        decimal.Decimal("1.5"), lakelink.Json({"k": [1]})))
        copy.write_row((2, None, None, None, None, None, None))
        for i in range(3, 20001):
            copy.write_row((i, f"r{i}", None, None, None, i, None))
    assert cur.rowcount == 20000
    # A list reused between rows (rows are sent later, in batches), a dict as JSON, an int beyond int64.
    with cur.copy(f"COPY {t} (id, s, j, n) FROM STDIN") as copy:
        row: list[Any] = [0, "", None, None]
        for i in (20001, 20002):
            row[0], row[1] = i, f"list {i}"
            copy.write_row(row)
        copy.write_row((20003, "dict", {"a": [1, "x"]}, 2**70))
    assert cur.rowcount == 3
    cur.execute(f"SELECT id, s, j, n FROM {t} WHERE id > 20000 ORDER BY id")
    assert cur.fetchall() == [(20001, "list 20001", None, None), (20002, "list 20002", None, None),
                              (20003, "dict", {"a": [1, "x"]}, decimal.Decimal(2**70))]
    cur.execute(f"DELETE FROM {t} WHERE id > 20000")
    # Bytes in the COPY's format (text, csv), str or bytes, in any pieces.
    with cur.copy(f"COPY {t} (id, s) FROM STDIN") as copy:
        copy.write("30001\tthirty")
        copy.write(b" thousand one\n30002\t\\N\n")
    assert cur.rowcount == 2
    with cur.copy(f"COPY {t} (id, s) FROM STDIN (FORMAT csv)") as copy:
        copy.write('30003,"a,b"\n')
    db.commit()
    cur.execute(f"SELECT s, b, a, ts, n, j FROM {t} WHERE id = 1")
    assert cur.fetchone() == ("tab\there\nnewline \\ backslash", b"\x00\\\xff", [1, None, 3], ts,
                              decimal.Decimal("1.5"), {"k": [1]})
    cur.execute(f"SELECT count(*), sum(id), sum(n) FROM {t}")
    assert cur.fetchone() == (20003, sum(range(1, 20001)) + 30001 + 30002 + 30003, sum(range(3, 20001)) + 1.5)
    cur.execute(f"SELECT s FROM {t} WHERE id IN (30001, 30003) ORDER BY id")
    assert cur.fetchall() == [("thirty thousand one",), ("a,b",)]
    # An exception in the block aborts the COPY and is raised as it is.
    with pytest.raises(ZeroDivisionError):
        with cur.copy(f"COPY {t} (id) FROM STDIN") as copy:
            copy.write_row((40000,))
            1 / 0
    db.rollback()
    # A bad value fails at the end, with the server's error; the connection is usable after it.
    with pytest.raises(lakelink.DataError):
        with cur.copy(f"COPY {t} (id) FROM STDIN") as copy:
            copy.write_row(("not a number",))
    db.rollback()
    cur.execute(f"SELECT count(*) FROM {t} WHERE id >= 40000")
    assert cur.fetchone() == (0,)
    with pytest.raises(lakelink.ProgrammingError):
        with cur.copy(f"COPY {t} TO STDOUT") as copy:
            copy.write_row((1,))
    with pytest.raises(lakelink.ProgrammingError):
        cur.copy("SELECT 1")
    # Inside a transaction: rolled back with it.
    with cur.copy(f"COPY {t} (id) FROM STDIN") as copy:
        copy.write_row((50000,))
    db.rollback()
    cur.execute(f"SELECT count(*) FROM {t} WHERE id = 50000")
    assert cur.fetchone() == (0,)
    cur.execute(f"DROP TABLE {t}")
    db.commit()


def test_copy_out(db: lakelink.Connection) -> None:
    cur = db.cursor()
    sql = "COPY (SELECT g, 'v' || g, CASE WHEN g % 2 = 0 THEN NULL ELSE E'a\\tb' END FROM generate_series(1, 30000) g) TO STDOUT"
    with cur.copy(sql) as copy:
        blocks = list(copy)
    assert cur.rowcount == 30000
    data = b"".join(blocks)
    assert data.count(b"\n") == 30000 and all(b.endswith(b"\n") for b in blocks)
    assert data.startswith(b"1\tv1\ta\\tb\n2\tv2\t\\N\n")
    with cur.copy(sql) as copy:
        rows = list(copy.rows())
    assert len(rows) == 30000 and rows[0] == ("1", "v1", "a\tb") and rows[1] == ("2", "v2", None)
    with cur.copy(sql) as copy:
        assert copy.read_row() == ("1", "v1", "a\tb")
        first = copy.read()
        assert first  # a block of the rows after those read_row had parsed
    # Left early: the rest is dropped, the connection is usable.
    assert cur.rowcount == 30000
    assert db.execute("SELECT 5").fetchone() == (5,)
    # Binary and csv as bytes.
    with cur.copy("COPY (SELECT 1::int4) TO STDOUT (FORMAT binary)") as copy:
        raw = b"".join(copy)
    assert raw.startswith(b"PGCOPY\n\xff\r\n\x00") and b"\x00\x00\x00\x04\x00\x00\x00\x01" in raw
    with cur.copy("COPY (SELECT 1, 'a,b') TO STDOUT (FORMAT csv)") as copy:
        assert copy.read() == b'1,"a,b"\n' and copy.read() == b""
    # Binary COPY through write() round trips.
    t = _table(db, "bulk_bin", "id int4")
    with cur.copy(f"COPY {t} FROM STDIN (FORMAT binary)") as copy:
        copy.write(raw)
    assert db.execute(f"SELECT id FROM {t}").fetchall() == [(1,)]
    db.execute(f"DROP TABLE {t}")
    db.commit()


def test_row_factories(db: lakelink.Connection) -> None:
    sql = "SELECT 1 AS id, 'a' AS name, 2 AS \"class\", 3 AS \"two words\""
    assert db.cursor(row_factory=dict_row).execute(sql).fetchone() == {"id": 1, "name": "a", "class": 2,
                                                                      "two words": 3}
    row = db.cursor(row_factory=namedtuple_row).execute(sql).fetchone()
    assert row == (1, "a", 2, 3) and row.id == 1 and row.name == "a" and row._fields[2:] == ("fclass", "two_words")
    assert db.cursor(row_factory=tuple_row).execute(sql).fetchall() == [(1, "a", 2, 3)]
    db.row_factory = dict_row
    try:
        cur = db.execute("SELECT g AS n FROM generate_series(1, 5000) g")
        assert cur.fetchone() == {"n": 1}
        assert cur.fetchmany(2) == [{"n": 2}, {"n": 3}]
        assert next(iter(cur)) == {"n": 4}
        assert cur.fetchall()[-1] == {"n": 5000}
        cur.row_factory = tuple_row
        assert cur.execute("SELECT 1").fetchone() == (1,)
    finally:
        db.row_factory = tuple_row
    assert db.execute("SELECT 2").fetchall() == [(2,)]


def test_same_answers_as_psycopg(emulator: dict[str, Any], postgres_conn: str, lakebase_conn: str) -> None:
    """rowcount and COPY output as psycopg 3 gives them, on the same server."""
    psycopg = pytest.importorskip("psycopg")
    u = urllib.parse.urlparse(emulator["lakebase"]["postgres_url"])
    with psycopg.connect(host=u.hostname, port=u.port, user=u.username, password=urllib.parse.unquote(u.password or ""),
                         dbname=emulator["lakebase"]["database"], sslmode="disable") as pg, \
            lakelink.connect(lakebase_conn) as ll:
        for sql in ("drop table if exists {t}; create table {t} (id int, s text)",
                    "insert into {t} values (1, 'x'), (2, NULL)", "update {t} set s = 'y' where id = 1",
                    "select * from {t}", "set application_name = 'cmp'", "drop table {t}"):
            pc, lc = pg.cursor(), ll.cursor()
            pc.execute(sql.format(t="bulk_cmp_pg"))
            pg.commit()
            lc.execute(sql.format(t="bulk_cmp_ll"))
            ll.commit()
            assert lc.rowcount == pc.rowcount, sql
            if ";" not in sql:  # several statements: psycopg 3 points at the first result, lakelink (as psycopg2) the last
                assert lc.statusmessage == pc.statusmessage, sql
        copy_sql = "COPY (SELECT g, g::text || E'\\n', NULL FROM generate_series(1, 2000) g) TO STDOUT"
        with pg.cursor().copy(copy_sql) as c:
            theirs = b"".join(bytes(b) for b in c)
        with ll.cursor().copy(copy_sql) as c2:
            ours = b"".join(c2)
        assert ours == theirs
        with pg.cursor().copy(copy_sql) as c:
            their_rows = list(c.rows())
        with ll.cursor().copy(copy_sql) as c2:
            assert list(c2.rows()) == their_rows


@pytest.fixture(scope="module")
def short_lived(sp_conn: str) -> Iterator[str]:
    """A connection string of an emulator whose tokens and Lakebase credentials last 2 seconds."""
    for info in _run_emulator("--token-ttl", "2s"):
        lb = info["lakebase"]
        p = info["service_principal"]
        yield (f"Host={info['workspace_url']};OAuthClientId={p['client_id']};OAuthClientSecret={p['client_secret']};"
               f"Server={lb['host']};Port={lb['port']};Instance={lb['instance']};SSLMode=verify-full;"
               f"SSLServerCert={lb['ca_file']}")


def test_bulk_across_credential_expiry(short_lived: str) -> None:
    """A pool's sessions log in again with renewed credentials; executemany and COPY keep working."""
    with lakelink.ConnectionPool(short_lived, max_size=2, max_lifetime=1.0) as pool:
        with pool.connection() as c:
            c.autocommit = True
            c.execute("DROP TABLE IF EXISTS bulk_exp; CREATE TABLE bulk_exp (id int)")
        deadline = time.monotonic() + 5
        i = 0
        while time.monotonic() < deadline:  # past two credential lifetimes
            with pool.connection() as c:
                c.autocommit = True
                cur = c.cursor()
                cur.executemany("INSERT INTO bulk_exp VALUES (%s)", [(i,), (i + 1,)])
                with cur.copy("COPY bulk_exp FROM STDIN") as copy:
                    copy.write_row((i + 2,))
                i += 3
            time.sleep(0.5)
        with pool.connection() as c:
            assert c.execute("SELECT count(*) FROM bulk_exp").fetchone() == (i,)
            c.execute("DROP TABLE bulk_exp")
            c.commit()
