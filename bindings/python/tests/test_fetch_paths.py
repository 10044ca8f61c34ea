"""The cursor's two ways to its rows: one-crossing small results, and batches read on demand."""

import pytest

import lakelink
from lakelink import cursor as cursor_mod


def test_small_result_is_complete_after_execute(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s::int AS n, 'x' AS s", (7,))
    # One crossing brought columns, rows and the command tag: nothing left open.
    assert cur._result == 0
    assert [c.name for c in cur.description] == ["n", "s"]
    assert cur.rowcount == 1
    assert cur.statusmessage == "SELECT 1"
    assert cur.fetchall() == [(7, "x")]


def test_statement_without_rows(conn):
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE fp (a int)")
    assert cur.description is None
    cur.execute("INSERT INTO fp SELECT g FROM generate_series(1, 3) g")
    assert cur.rowcount == 3
    assert cur.statusmessage == "INSERT 0 3"


def test_fetchall_reads_every_batch(conn):
    n = cursor_mod.BATCH_ROWS * 5 + 17
    cur = conn.cursor()
    cur.execute("SELECT g, 'r' || g FROM generate_series(1, %s) g", (n,))
    assert cur._result != 0  # more rows than one batch: the result stays open
    rows = cur.fetchall()
    assert len(rows) == n
    assert rows[0] == (1, "r1") and rows[-1] == (n, f"r{n}")
    assert cur.rowcount == n and cur.statusmessage == f"SELECT {n}"


def test_fetchall_after_fetchone_keeps_order(conn):
    cur = conn.cursor()
    cur.execute("SELECT g FROM generate_series(1, %s) g", (cursor_mod.BATCH_ROWS * 3,))
    first = [cur.fetchone() for _ in range(cursor_mod.BATCH_ROWS + 5)]
    rest = cur.fetchall()
    assert [r[0] for r in first + rest] == list(range(1, cursor_mod.BATCH_ROWS * 3 + 1))


def test_error_in_a_later_batch_raises_and_the_connection_goes_on(conn):
    conn.autocommit = True
    cur = conn.cursor()
    bad = cursor_mod.BATCH_ROWS * 3
    cur.execute("SELECT 1 / (g - %s) FROM generate_series(1, %s) g", (bad, bad * 2))
    with pytest.raises(lakelink.DataError) as e:
        cur.fetchall()
    assert e.value.sqlstate == "22012"  # division_by_zero
    cur.execute("SELECT 42")
    assert cur.fetchall() == [(42,)]


def test_fetch_after_a_failed_fetchall_never_returns_part_of_the_result(conn):
    # The rows read before the failing batch must not come back as if they
    # were the whole result: every later fetch raises the same error.
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT CASE WHEN g = 50000 THEN 1 / (g - g) ELSE g END FROM generate_series(1, 100000) g")
    with pytest.raises(lakelink.DataError) as first:
        cur.fetchall()
    assert first.value.sqlstate == "22012"
    assert cur._result == 0 and not cur._rows
    with pytest.raises(lakelink.DataError) as again:
        cur.fetchall()
    assert again.value is first.value
    with pytest.raises(lakelink.DataError):
        cur.fetchone()
    with pytest.raises(lakelink.DataError):
        cur.fetchmany(5)
    cur.execute("SELECT 42")  # a new statement starts clean
    assert cur.fetchall() == [(42,)]


def test_fetchone_error_in_a_later_batch_drops_the_rows_buffered(conn):
    conn.autocommit = True
    cur = conn.cursor()
    bad = cursor_mod.BATCH_ROWS * 2 + 1
    cur.execute("SELECT 1 / (g - %s) FROM generate_series(1, %s) g", (bad, bad * 2))
    with pytest.raises(lakelink.DataError):
        for _ in cur:
            pass
    with pytest.raises(lakelink.DataError):
        cur.fetchall()
