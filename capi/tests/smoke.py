"""A ctypes smoke test of liblakelink (standard library only).

It declares the signatures the Python binding will use, connects to the
emulator's Lakebase, runs SELECT 1 and a query with a text column, and
decodes the columnar batches (TYPES.md, "FormatColumnar (version 1)").
harness_test.go runs it with:

    LAKELINK_LIBRARY   the path of liblakelink.so
    LAKELINK_LAKEBASE  a Lakebase connection string
"""

import ctypes
import os
import struct
import sys


class LakelinkError(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_int32),
        ("message", ctypes.c_char_p),
        ("sqlstate", ctypes.c_char_p),
        ("diagnosis", ctypes.c_char_p),
        ("http_status", ctypes.c_int32),
        ("kind", ctypes.c_char_p),
    ]


ErrPtr = ctypes.POINTER(LakelinkError)
OK = 0
ERR_INVALID_HANDLE = -2
ERR_DATABASE = -5


def load(path):
    lib = ctypes.CDLL(path)
    u64, i32, i64 = ctypes.c_uint64, ctypes.c_int32, ctypes.c_int64
    u8p = ctypes.POINTER(ctypes.c_uint8)
    sigs = {
        "lakelink_version": ([], ctypes.c_char_p),
        "lakelink_abi_version": ([], i32),
        "lakelink_connect": ([ctypes.c_char_p, ctypes.POINTER(u64), ctypes.POINTER(ErrPtr)], i32),
        "lakelink_execute": ([u64, ctypes.c_char_p, u8p, i64, ctypes.POINTER(u64), ctypes.POINTER(ErrPtr)], i32),
        "lakelink_result_columns": ([u64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ErrPtr)], i32),
        "lakelink_result_next_batch": (
            [u64, i32, ctypes.c_char_p, ctypes.POINTER(u8p), ctypes.POINTER(i64), ctypes.POINTER(ErrPtr)], i32),
        "lakelink_result_close": ([u64, ctypes.POINTER(ErrPtr)], i32),
        "lakelink_close": ([u64, ctypes.POINTER(ErrPtr)], i32),
        # Returned strings are declared c_void_p (not c_char_p, which would
        # copy and lose the pointer that must go back to lakelink_free).
        "lakelink_free": ([ctypes.c_void_p], None),
        "lakelink_error_free": ([ErrPtr], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    return lib


class Failure(Exception):
    pass


def check(lib, what, rc, err):
    """Raises on a failed call (freeing the error), else returns."""
    if rc == OK:
        if err:
            raise Failure(f"{what}: OK but err set")
        return
    if not err:
        raise Failure(f"{what}: status {rc} without an error")
    e = err.contents
    msg = f"{what}: status {rc} (code {e.code}): {e.message.decode()} [sqlstate {e.sqlstate.decode()!r}]"
    lib.lakelink_error_free(err)
    raise Failure(msg)


def take_string(lib, p):
    """Copies a returned C string and frees it with lakelink_free."""
    try:
        return ctypes.string_at(p.value).decode("utf-8")
    finally:
        lib.lakelink_free(p)


def decode_columnar(buf):
    """Decodes int32, int64 and text columns of a columnar batch."""
    magic, version, ncols, nrows, length = struct.unpack_from("<4sHHII", buf, 0)
    assert magic == b"LLCB" and version == 1, (magic, version)
    assert length == len(buf), (length, len(buf))
    off, cols = 16, []
    for _ in range(ncols):
        off = (off + 7) & ~7
        kind, flags, _elem, _zero, body_len = struct.unpack_from("<BBBBI", buf, off)
        off += 8
        nulls = [False] * nrows
        if flags & 1:
            nulls = [b != 0 for b in buf[off:off + nrows]]
            off = (off + nrows + 7) & ~7
        body = buf[off:off + body_len]
        off += body_len
        if kind == 3:
            values = list(struct.unpack_from(f"<{nrows}i", body))
        elif kind == 4:
            values = list(struct.unpack_from(f"<{nrows}q", body))
        elif kind == 1:
            values = body.decode("utf-8").split("\0") if nrows else []
        else:
            raise Failure(f"kind {kind} is not decoded by this smoke test")
        cols.append([None if n else v for v, n in zip(values, nulls)])
    assert off == len(buf), (off, len(buf))
    return nrows, [list(row) for row in zip(*cols)]


def query(lib, conn, sql):
    """Runs sql; returns (columns JSON, rows), reading every batch."""
    res, err = ctypes.c_uint64(), ErrPtr()
    check(lib, sql, lib.lakelink_execute(conn, sql.encode(), None, 0, ctypes.byref(res), ctypes.byref(err)), err)
    p = ctypes.c_void_p()
    check(lib, "columns", lib.lakelink_result_columns(res, ctypes.byref(p), ctypes.byref(err)), err)
    columns = take_string(lib, p)
    rows = []
    while True:
        batch, n = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_int64()
        check(lib, "next_batch",
              lib.lakelink_result_next_batch(res, 0, None, ctypes.byref(batch), ctypes.byref(n), ctypes.byref(err)), err)
        if not batch:
            assert n.value == 0
            break
        try:
            buf = ctypes.string_at(batch, n.value)
        finally:
            lib.lakelink_free(batch)
        count, batch_rows = decode_columnar(buf)
        assert count == len(batch_rows)
        rows.extend(batch_rows)
    check(lib, "result_close", lib.lakelink_result_close(res, ctypes.byref(err)), err)
    return columns, rows


def main():
    lib = load(os.environ["LAKELINK_LIBRARY"])
    print("lakelink", lib.lakelink_version().decode(), "ABI", lib.lakelink_abi_version())
    assert lib.lakelink_abi_version() == 4

    conn, err = ctypes.c_uint64(), ErrPtr()
    check(lib, "connect", lib.lakelink_connect(os.environ["LAKELINK_LAKEBASE"].encode(), ctypes.byref(conn),
                                               ctypes.byref(err)), err)

    columns, rows = query(lib, conn, "SELECT 1")
    print("SELECT 1:", columns, rows)
    assert rows == [[1]], rows
    assert '"type_name":"int4"' in columns, columns

    sql = "SELECT g AS n, 'r' || g AS label, CASE WHEN g = 2 THEN NULL ELSE 'x' END AS maybe FROM generate_series(1, 3) AS g"
    columns, rows = query(lib, conn, sql)
    print("text column:", columns, rows)
    assert rows == [[1, "r1", "x"], [2, "r2", None], [3, "r3", "x"]], rows

    rows = query(lib, conn, "SELECT g FROM generate_series(1, 2500) AS g")[1]
    assert [r[0] for r in rows] == list(range(1, 2501)), "2500 rows over three batches"

    # An error comes back as a struct; its strings are readable, then freed.
    res = ctypes.c_uint64()
    rc = lib.lakelink_execute(conn, b"SELEC 1", None, 0, ctypes.byref(res), ctypes.byref(err))
    assert rc == ERR_DATABASE and err and err.contents.code == rc, rc
    assert err.contents.sqlstate == b"42601", err.contents.sqlstate
    print("syntax error:", err.contents.message.decode())
    lib.lakelink_error_free(err)

    check(lib, "close", lib.lakelink_close(conn, ctypes.byref(err)), err)
    rc = lib.lakelink_close(conn, ctypes.byref(err))
    assert rc == ERR_INVALID_HANDLE, rc
    lib.lakelink_error_free(err)
    print("PASS smoke.py")


if __name__ == "__main__":
    try:
        main()
    except (Failure, AssertionError) as e:
        print("FAIL", repr(e), file=sys.stderr)
        sys.exit(1)
