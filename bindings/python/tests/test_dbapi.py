"""PEP 249 behaviour: placeholders, errors, transactions, rowcount, cursors, threads."""

import threading
import uuid

import pytest

import lakelink
from lakelink import _connstr, _params


def table(conn, cols="id int PRIMARY KEY, name text"):
    name = "t_" + uuid.uuid4().hex[:10]
    with lakelink.connect(conn._conn_str) as c:
        c.cursor().execute(f"CREATE TABLE {name} ({cols})")
    return name


# ---- placeholders ----

def test_pyformat_positional_named_and_percent(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s::int + 1, '100%%', %s::text", (41, "x"))
    assert cur.fetchone() == (42, "100%", "x")
    cur.execute("SELECT %(a)s::int, %(b)s::text, %(a)s::int * 2", {"a": 21, "b": "%s"})
    assert cur.fetchone() == (21, "%s", 42)
    cur.execute("SELECT '50%' AS p")  # no parameters: % is literal
    assert cur.fetchone() == ("50%",)


def test_values_are_never_interpolated(conn):
    evil = "'); DROP TABLE x; --"
    cur = conn.cursor()
    cur.execute("SELECT %s::text", (evil,))
    assert cur.fetchone() == (evil,)


def test_placeholder_conversion_unit():
    assert _params.convert("a %s b %s %%", (1, 2)) == ("a $1 b $2 %", [1, 2])
    assert _params.convert("%(x)s %(y)s %(x)s", {"x": 1, "y": 2, "z": 3}) == ("$1 $2 $1", [1, 2])
    assert _params.convert("100%", None) == ("100%", [])
    for sql, params in [("%s %s", (1,)), ("%s", (1, 2)), ("%(a)s", (1,)), ("%s", {"a": 1}), ("%d", (1,)),
                        ("%(a)s", {"b": 1}), ("%s", "abc")]:
        with pytest.raises(lakelink.ProgrammingError):
            _params.convert(sql, params)


# ---- errors ----

def test_syntax_error(conn):
    with pytest.raises(lakelink.ProgrammingError) as e:
        conn.cursor().execute("SELEC 1")
    assert e.value.sqlstate == "42601" and e.value.pgcode == "42601"
    assert "syntax" in str(e.value)
    assert isinstance(e.value, lakelink.DatabaseError) and isinstance(e.value, lakelink.Error)
    assert conn.ProgrammingError is lakelink.ProgrammingError


def test_unique_violation(conn):
    t = table(conn)
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, "a"))
    with pytest.raises(lakelink.IntegrityError) as e:
        cur.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, "b"))
    assert e.value.sqlstate == "23505"
    assert e.value.diag.sqlstate == "23505"
    assert e.value.diag.message_detail == "Key (id)=(1) already exists."  # psycopg's names
    assert e.value.diag.message_hint is None
    conn.rollback()


def test_division_by_zero_is_data_error(conn):
    with pytest.raises(lakelink.DataError) as e:
        c = conn.cursor()
        c.execute("SELECT 1/0")
        c.fetchall()
    assert e.value.sqlstate == "22012"
    conn.rollback()


def test_undefined_table(conn):
    with pytest.raises(lakelink.ProgrammingError) as e:
        conn.cursor().execute("SELECT * FROM no_such_table_xyz")
    assert e.value.sqlstate == "42P01"


def test_bad_connection_string():
    with pytest.raises(lakelink.ProgrammingError):
        lakelink.connect("NoSuchKey=1")


def test_closed_objects_raise_interface_error(lakebase_conn):
    c = lakelink.connect(lakebase_conn)
    cur = c.cursor()
    cur.close()
    with pytest.raises(lakelink.InterfaceError):
        cur.execute("SELECT 1")
    cur2 = c.cursor()
    c.close()
    c.close()  # twice is fine
    with pytest.raises(lakelink.InterfaceError):
        cur2.execute("SELECT 1")
    with pytest.raises(lakelink.InterfaceError):
        c.cursor()
    with pytest.raises(lakelink.InterfaceError):
        c.commit()


def test_fetch_without_result(conn):
    cur = conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'")
    assert cur.description is None
    with pytest.raises(lakelink.ProgrammingError):
        cur.fetchone()


# ---- transactions ----

def test_autocommit_default_off_and_rollback(conn, lakebase_conn):
    assert conn.autocommit is False
    t = table(conn)
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} VALUES (1, 'a')")
    with lakelink.connect(lakebase_conn) as other:
        oc = other.cursor()
        oc.execute(f"SELECT count(*) FROM {t}")
        assert oc.fetchone() == (0,)  # not committed yet
        conn.rollback()
        cur.execute(f"INSERT INTO {t} VALUES (2, 'b')")
        conn.commit()
        oc.execute(f"SELECT id FROM {t}")
        assert oc.fetchall() == [(2,)]


def test_autocommit_on(conn, lakebase_conn):
    t = table(conn)
    conn.autocommit = True
    assert conn.autocommit is True
    conn.cursor().execute(f"INSERT INTO {t} VALUES (1, 'a')")
    conn.rollback()  # nothing to roll back
    with lakelink.connect(lakebase_conn) as other:
        oc = other.cursor()
        oc.execute(f"SELECT count(*) FROM {t}")
        assert oc.fetchone() == (1,)
    conn.autocommit = False
    conn.cursor().execute(f"INSERT INTO {t} VALUES (2, 'a')")
    conn.rollback()
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM {t}")
    assert cur.fetchone() == (1,)


def test_context_manager_commits_or_rolls_back(lakebase_conn):
    with lakelink.connect(lakebase_conn) as c:
        t = table(c)
    with lakelink.connect(lakebase_conn) as c:
        c.cursor().execute(f"INSERT INTO {t} VALUES (1, 'a')")
    assert c.closed
    with pytest.raises(RuntimeError):
        with lakelink.connect(lakebase_conn) as c:
            c.cursor().execute(f"INSERT INTO {t} VALUES (2, 'b')")
            raise RuntimeError("boom")
    with lakelink.connect(lakebase_conn) as c, c.cursor() as cur:
        cur.execute(f"SELECT id FROM {t} ORDER BY id")
        assert cur.fetchall() == [(1,)]
    assert cur.closed


# ---- rowcount, executemany, fetch ----

def test_rowcount_and_executemany(conn):
    t = table(conn)
    cur = conn.cursor()
    cur.executemany(f"INSERT INTO {t} VALUES (%s, %s)", [(i, f"n{i}") for i in range(5)])
    assert cur.rowcount == 5
    cur.execute(f"UPDATE {t} SET name = 'x' WHERE id < %(n)s", {"n": 3})
    assert cur.rowcount == 3
    assert cur.statusmessage == "UPDATE 3"
    cur.execute(f"DELETE FROM {t} WHERE id = 4")
    assert cur.rowcount == 1
    cur.execute(f"SELECT id FROM {t} ORDER BY id")
    assert cur.rowcount in (-1, 4)
    assert cur.fetchall() == [(0,), (1,), (2,), (3,)]
    assert cur.rowcount == 4
    conn.commit()


def test_fetchmany_arraysize_iteration(conn):
    cur = conn.cursor()
    cur.execute("SELECT g FROM generate_series(1, 10) g")
    assert cur.arraysize == 1
    assert cur.fetchmany() == [(1,)]
    cur.arraysize = 3
    assert cur.fetchmany() == [(2,), (3,), (4,)]
    assert cur.fetchmany(2) == [(5,), (6,)]
    assert [r[0] for r in cur] == [7, 8, 9, 10]
    assert cur.fetchone() is None
    assert cur.fetchall() == []


def test_callproc_and_noops(conn):
    cur = conn.cursor()
    cur.setinputsizes([None])
    cur.setoutputsize(10)
    cur.callproc("upper", ["abc"])
    assert cur.fetchall() == [("ABC",)]
    with pytest.raises(lakelink.ProgrammingError):
        cur.callproc("x; drop table y", [])


# ---- one result per connection: cursors buffer ----

def test_two_cursors_interleave(conn):
    a, b = conn.cursor(), conn.cursor()
    a.execute("SELECT g FROM generate_series(1, 5000) g")
    assert a.fetchone() == (1,)
    b.execute("SELECT g FROM generate_series(1, 3) g")
    assert b.fetchone() == (1,)
    a2 = []
    # a's rows were buffered when b executed; nothing is lost.
    for _ in range(3):
        a2.append(a.fetchone()[0])
    a.execute("SELECT 'again'")  # re-executing a makes b buffer its rest
    assert b.fetchall() == [(2,), (3,)]
    assert a.fetchall() == [("again",)]
    assert a2 == [2, 3, 4]


def test_interleave_rest_of_a(conn):
    a, b = conn.cursor(), conn.cursor()
    a.execute("SELECT g FROM generate_series(1, 4500) g")
    first = a.fetchmany(10)
    b.execute("SELECT 1")
    assert b.fetchall() == [(1,)]
    rest = a.fetchall()
    assert [r[0] for r in first + rest] == list(range(1, 4501))
    assert a.rowcount == 4500


def test_eight_threads_share_a_connection(conn):
    errors = []

    def work(n):
        try:
            for i in range(25):
                cur = conn.cursor()
                cur.execute("SELECT %s::int AS n, g FROM generate_series(1, %s::int) g", (n, 50 + i))
                rows = []
                while True:
                    chunk = cur.fetchmany(7)
                    if not chunk:
                        break
                    rows.extend(chunk)
                assert rows == [(n, g) for g in range(1, 51 + i)], (n, i, len(rows))
        except BaseException as e:  # noqa: B902
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# ---- connection strings and secrets ----

def test_connstr_overrides():
    def canonical(s: str) -> str:  # the core's own form of s, secrets included
        return _connstr.build(s, {"Timeout": None})

    assert _connstr.build("Host=a;OAuthClientSecret='x;y'", {"host": "b"}) == canonical("OAuthClientSecret='x;y';Host=b")
    assert _connstr.build("DatabricksInstance=a;Port=1", {"Host": "h"}) == canonical("Port=1;Host=h")
    assert _connstr.build("Port=1", {"Password": "it's;x", "User": " a "}) == canonical(
        "Port=1;Password='it''s;x';User=' a '")
    assert _connstr.build("Port=1;Database=x", {"database": None}) == canonical("Port=1")
    assert _connstr.build("", {}) == ""
    with pytest.raises(lakelink.ProgrammingError, match='did you mean "Port"'):
        _connstr.build("Port=1", {"Prot": 2})


def test_connect_with_overrides(lakebase_conn, emulator):
    base = lakebase_conn.replace(f"Port={emulator['lakebase']['port']}", "Port=1")
    with lakelink.connect(base, Port=emulator["lakebase"]["port"], ApplicationName="py;test 'x'") as c:
        cur = c.cursor()
        cur.execute("SELECT current_setting('application_name')")
        assert cur.fetchone() == ("py;test 'x'",)


def test_no_secret_in_repr(lakebase_conn, emulator):
    secret = emulator["service_principal"]["client_secret"]
    c = lakelink.connect(lakebase_conn)
    cur = c.cursor()
    texts = [repr(c), str(c), repr(cur), str(cur)]
    try:
        lakelink.connect(lakebase_conn.replace("OAuthClientSecret=", "OAuthClientSecret=wrong"))
    except lakelink.Error as e:
        texts += [repr(e), str(e), e.message]
    else:
        pytest.fail("a wrong secret connected")
    c.close()
    texts += [repr(c), repr(cur)]
    for t in texts:
        assert secret not in t
        assert "wrong" + secret not in t
    assert "***" in repr(c) or "OAuthClientSecret" not in repr(c)
