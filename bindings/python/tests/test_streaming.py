"""Big results stream batch by batch: memory stays bounded."""

import resource
import sys

import pytest


def rss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def test_one_million_rows_bounded_memory(conn):
    cur = conn.cursor()
    # warm up (library, first batch decoding) before measuring
    cur.execute("SELECT g, 'row ' || g FROM generate_series(1, 10000) g")
    cur.fetchall()
    before = rss_mb()
    cur.execute("SELECT g, 'row number ' || g AS label, g * 1.5::float8 AS f FROM generate_series(1, 1000000) g")
    n = 0
    total = 0
    for row in cur:
        n += 1
        total += row[0]
    growth = rss_mb() - before
    assert n == 1_000_000
    assert total == 1_000_000 * 1_000_001 // 2
    assert cur.rowcount == 1_000_000
    assert growth < 100, f"peak RSS grew by {growth:.1f} MB"
    print(f"1M rows streamed; peak RSS growth {growth:.1f} MB")
