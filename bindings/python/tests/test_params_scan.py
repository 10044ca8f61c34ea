"""Placeholder conversion is scanned once per SQL text; every check still runs on every call."""

import pytest

import lakelink
from lakelink import _params


def test_scan_is_cached_per_sql_text():
    sql = "SELECT %s::int, %s::text -- scan cache test"
    before = _params._scan.cache_info().hits
    assert _params.convert(sql, (1, "a")) == ("SELECT $1::int, $2::text -- scan cache test", [1, "a"])
    assert _params.convert(sql, [2, "b"]) == ("SELECT $1::int, $2::text -- scan cache test", [2, "b"])
    assert _params._scan.cache_info().hits > before
    # The parameters are checked on every call, the cached scan or not.
    with pytest.raises(lakelink.ProgrammingError, match="more '%s' placeholders than the 1"):
        _params.convert(sql, (1,))
    with pytest.raises(lakelink.ProgrammingError, match="2 placeholders but 3 parameters"):
        _params.convert(sql, (1, 2, 3))
    with pytest.raises(lakelink.ProgrammingError, match="parameters are a mapping"):
        _params.convert(sql, {"a": 1})


def test_scan_errors_every_time():
    for _ in range(2):  # an error is not cached away
        with pytest.raises(lakelink.ProgrammingError, match="mixes"):
            _params.convert("%s %(a)s", (1,))
        with pytest.raises(lakelink.ProgrammingError, match="'%d' at offset 7"):
            _params.convert("SELECT %d", (1,))


def test_named_repeats_take_one_number():
    assert _params.convert("%(a)s %(b)s %(a)s %%", {"a": 1, "b": 2, "c": 3}) == ("$1 $2 $1 %", [1, 2])
    with pytest.raises(lakelink.ProgrammingError, match="needs the parameter 'b'"):
        _params.convert("%(a)s %(b)s", {"a": 1})
