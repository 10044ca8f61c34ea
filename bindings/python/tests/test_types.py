"""Every type of TYPES.md's table, both ways."""

import datetime as dt
import decimal
import uuid

import pytest

import lakelink

UTC = dt.timezone.utc


def one(conn, sql, *params):
    cur = conn.cursor()
    cur.execute(sql, params if params else None)
    rows = cur.fetchall()
    assert len(rows) == 1
    return rows[0][0] if len(rows[0]) == 1 else rows[0], cur.description


CASES = [
    # (python value, cast, expected back, type oid)
    (42, "int4", 42, 23),
    (-7, "int2", -7, 21),
    (9223372036854775807, "int8", 9223372036854775807, 20),
    (1.5, "float8", 1.5, 701),
    (0.1, "float4", 0.1, 700),
    (decimal.Decimal("1234567890123456789012345678901234567890.123"), "numeric",
     decimal.Decimal("1234567890123456789012345678901234567890.123"), 1700),
    (decimal.Decimal("1.50"), "numeric", decimal.Decimal("1.50"), 1700),
    ("héllo, 'world'; --", "text", "héllo, 'world'; --", 25),
    ("v", "varchar", "v", 1043),
    (True, "bool", True, 16),
    (False, "bool", False, 16),
    (b"\x00\x01\xffbytes", "bytea", b"\x00\x01\xffbytes", 17),
    (dt.date(2024, 2, 29), "date", dt.date(2024, 2, 29), 1082),
    (dt.date(1, 1, 1), "date", dt.date(1, 1, 1), 1082),
    (dt.time(12, 34, 56, 789), "time", dt.time(12, 34, 56, 789), 1083),
    (dt.datetime(2020, 1, 2, 3, 4, 5, 678901), "timestamp", dt.datetime(2020, 1, 2, 3, 4, 5, 678901), 1114),
    (dt.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2))), "timestamptz",
     dt.datetime(2020, 1, 2, 1, 4, 5, 6, tzinfo=UTC), 1184),
    (dt.timedelta(days=3, seconds=7, microseconds=11), "interval", dt.timedelta(days=3, seconds=7, microseconds=11),
     1186),
    (dt.timedelta(days=-1, seconds=5), "interval", dt.timedelta(days=-1, seconds=5), 1186),
    (uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
     2950),
    ({"a": [1, 2, {"b": None}], "s": "x"}, "jsonb", {"a": [1, 2, {"b": None}], "s": "x"}, 3802),
    ({"k": "v"}, "json", {"k": "v"}, 114),
    (lakelink.Json([1, "two", None]), "jsonb", [1, "two", None], 3802),
    ([1, 2, None, 4], "int4[]", [1, 2, None, 4], 1007),
    ([["a", "b"], ["c", None]], "text[]", [["a", "b"], ["c", None]], 1009),
    ([dt.date(2020, 1, 1)], "date[]", [dt.date(2020, 1, 1)], 1182),
    ([decimal.Decimal("1.1")], "numeric[]", [decimal.Decimal("1.1")], 1231),
    (None, "int4", None, 23),
    (None, "text", None, 25),
]


@pytest.mark.parametrize("value,cast,expected,oid", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_roundtrip(conn, value, cast, expected, oid):
    got, desc = one(conn, f"SELECT %s::{cast} AS v", value)
    assert got == expected
    assert type(got) is type(expected)
    assert desc[0].type_code == oid
    if isinstance(expected, dt.datetime):
        assert (got.tzinfo is None) == (expected.tzinfo is None)


def test_naive_timestamp_into_timestamptz_uses_session_zone(conn):
    cur = conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'")
    got, _ = one(conn, "SELECT %s::timestamptz", dt.datetime(2020, 5, 6, 7, 8, 9))
    assert got == dt.datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_server_literals_to_python(conn):
    row, _ = one(conn, "SELECT 1::int2, 2::int8, 'NaN'::float8, '-0'::float8, 'NaN'::numeric, 'x'::char(3), "
                       "'infinity'::float8, interval '1 mon 2 days 3 microseconds', NULL::uuid, '[]'::jsonb, "
                       "'null'::jsonb, ARRAY[]::int[], '10.0.0.1'::inet")
    assert row[0] == 1 and row[1] == 2
    assert row[2] != row[2]  # NaN
    assert str(row[3]) == "-0.0"
    assert row[4].is_nan()
    assert row[5] == "x  "
    assert row[6] == float("inf")
    assert row[7] == dt.timedelta(days=32, microseconds=3)
    assert row[8] is None
    assert row[9] == [] and row[10] is None
    assert row[11] == []
    assert row[12] == "10.0.0.1"


OUTSIDE_THE_TABLE = [
    # types outside TYPES.md's table: PostgreSQL's own text form, as psql prints it
    ("'10.0.0.1'::inet", "10.0.0.1"), ("'10.0.0.0/8'::cidr", "10.0.0.0/8"), ("'::1'::inet", "::1"),
    ("'{10.0.0.1,::1}'::inet[]", "{10.0.0.1,::1}"), ("''::\"char\"", ""), ("'a'::\"char\"", "a"),
    ("'[1,10)'::int4range", "[1,10)"), ("'[1,3]'::int4range", "[1,4)"), ("'empty'::numrange", "empty"),
    ("'{[1,2), [5,6)}'::int4multirange", "{[1,2),[5,6)}"), ("ROW(1, 'a b', NULL)", '(1,"a b",)'),
    ("'(1,2)'::point", "(1,2)"), ("B'101'", "101"), ("'08:00:2b:01:02:03'::macaddr", "08:00:2b:01:02:03"),
]


@pytest.mark.parametrize("sql,text", OUTSIDE_THE_TABLE, ids=[c[0] for c in OUTSIDE_THE_TABLE])
def test_types_outside_the_table_are_their_text(conn, sql, text):
    assert one(conn, f"SELECT {sql}")[0] == text
    assert one(conn, f"SELECT {sql} WHERE 1 = %s", 1)[0] == text  # with a parameter: the extended protocol


def test_big_int_goes_as_numeric(conn):
    got, _ = one(conn, "SELECT %s::numeric", 10 ** 30)
    assert got == decimal.Decimal(10 ** 30)


def test_unrepresentable_date_is_data_error(conn):
    cur = conn.cursor()
    with pytest.raises(lakelink.DataError) as e:
        cur.execute("SELECT 'infinity'::date AS d")
        cur.fetchall()
    assert "infinity" in str(e.value)
    assert e.value.sqlstate == "22000"


def test_unsendable_parameter_is_data_error(conn):
    with pytest.raises(lakelink.DataError) as e:
        conn.cursor().execute("SELECT %s::text", ("nul \x00 inside",))
    assert e.value.sqlstate == "22023"
    assert "$1" in str(e.value)


def test_time_with_tz_is_type_error(conn):
    with pytest.raises(TypeError):
        conn.cursor().execute("SELECT %s", (dt.time(1, 2, tzinfo=UTC),))


def test_unknown_python_type(conn):
    with pytest.raises(lakelink.ProgrammingError):
        conn.cursor().execute("SELECT %s", (object(),))


def test_type_objects(conn):
    cur = conn.cursor()
    cur.execute("SELECT 'a'::text, 1::int4, 1.5::numeric, now(), '\\x00'::bytea, current_date, 2::oid")
    codes = [d.type_code for d in cur.description]
    assert codes[0] == lakelink.STRING
    assert codes[1] == lakelink.NUMBER and codes[2] == lakelink.NUMBER
    assert codes[3] == lakelink.DATETIME and codes[5] == lakelink.DATETIME
    assert codes[4] == lakelink.BINARY
    assert codes[6] == lakelink.ROWID
    assert codes[0] != lakelink.NUMBER
    for d in cur.description:
        assert len(d) == 7 and d[2:] == (None,) * 5
    cur.fetchall()


def test_constructors():
    assert lakelink.Date(2020, 1, 2) == dt.date(2020, 1, 2)
    assert lakelink.Time(1, 2, 3) == dt.time(1, 2, 3)
    assert lakelink.Timestamp(2020, 1, 2, 3, 4, 5) == dt.datetime(2020, 1, 2, 3, 4, 5)
    assert isinstance(lakelink.DateFromTicks(0), dt.date)
    assert isinstance(lakelink.TimeFromTicks(0), dt.time)
    assert isinstance(lakelink.TimestampFromTicks(0), dt.datetime)
    assert lakelink.Binary(bytearray(b"ab")) == b"ab"
