"""Prepared statements after schema changes (the core's rule, core/lakebase/stmtcache.go): a
statement the session already ran keeps working after its table is dropped and created again,
or altered, with other column types, as after an Alembic or Django migration."""

import pytest

import lakelink


@pytest.fixture()
def other(lakebase_conn):
    c = lakelink.connect(lakebase_conn)
    c.autocommit = True
    yield c
    c.close()


def select(conn):
    cur = conn.cursor()
    cur.execute("SELECT * FROM plan_py WHERE true = %s", (True,))
    return cur.fetchall()


def test_statement_after_another_sessions_migration(conn, other):
    other.cursor().execute("DROP TABLE IF EXISTS plan_py; CREATE TABLE plan_py (v int); INSERT INTO plan_py VALUES (1)")
    assert select(conn) == [(1,)]  # prepared, in the transaction lakelink began for it
    conn.commit()
    other.cursor().execute("DROP TABLE plan_py; CREATE TABLE plan_py (v text, w int); INSERT INTO plan_py VALUES ('x', 2)")
    assert select(conn) == [("x", 2)]  # run again in a new transaction
    conn.commit()

    conn.autocommit = True
    other.cursor().execute("ALTER TABLE plan_py ALTER v TYPE bigint USING 7")
    assert select(conn) == [(7, 2)]  # autocommit: run again


def test_statement_after_its_own_migration(conn):
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS plan_py; CREATE TABLE plan_py (v int); INSERT INTO plan_py VALUES (1)")
    assert select(conn) == [(1,)]
    cur.execute("ALTER TABLE plan_py ALTER v TYPE text")
    assert select(conn) == [("1",)]


def test_a_transaction_that_ran_something_fails_once(conn, other):
    other.cursor().execute("DROP TABLE IF EXISTS plan_py; CREATE TABLE plan_py (v int); INSERT INTO plan_py VALUES (1)")
    assert select(conn) == [(1,)]
    conn.commit()
    conn.cursor().execute("SELECT 1")  # a transaction that ran something (and holds no lock on the table)
    other.cursor().execute("DROP TABLE plan_py; CREATE TABLE plan_py (v text); INSERT INTO plan_py VALUES ('y')")
    with pytest.raises(lakelink.NotSupportedError, match="cached plan must not change result type"):
        select(conn)  # the transaction had run the first select: its error is the application's
    conn.rollback()
    assert select(conn) == [("y",)]
