import lakelink


def test_module_globals():
    assert lakelink.apilevel == "2.0"
    assert lakelink.threadsafety == 2
    assert lakelink.paramstyle == "pyformat"


def test_select_one(conn):
    cur = conn.cursor()
    cur.execute("SELECT 1 AS one")
    assert cur.fetchall() == [(1,)]
    assert cur.description[0][0] == "one"
    assert cur.description[0][1] == 23
