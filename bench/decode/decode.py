"""Decode the batches written by `go run ./bench/decode` into native Python
values, the way the Python binding would, and time it.

    python3 decode.py DIR [REPS]

Each candidate turns its batch into the same list of row tuples (int,
float, decimal.Decimal, str, tz-aware datetime, bool, bytes, None), which
is checked; the timings go to DIR/python.json. Standard library only.
"""

import binascii
import io
import json
import pickle
import statistics
import struct
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import compress, repeat

PG_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=timezone.utc)
PG_EPOCH = datetime(2000, 1, 1)
PG_EPOCH_ORDINAL = date(2000, 1, 1).toordinal()

# --- columnar (TYPES.md, "FormatColumnar") -----------------------------


def _texts(body, n):
    return str(body, "utf-8").split("\0") if n else []


def _micros_to(epoch, micros, n):
    # epoch + timedelta(0, 0, us) for every value, in C.
    return list(map(epoch.__add__, map(timedelta, repeat(0, n), repeat(0, n), micros)))


def _bytes(body, n):
    offs = body[: 4 * (n + 1)].cast("I").tolist()
    data = bytes(body[4 * (n + 1):])
    return list(map(data.__getitem__, map(slice, offs, offs[1:])))


COLUMNAR = {
    1: _texts,  # text
    2: lambda body, n: list(map(bool, body)),
    3: lambda body, n: body.cast("i").tolist(),
    4: lambda body, n: body.cast("q").tolist(),
    5: lambda body, n: body.cast("d").tolist(),
    6: lambda body, n: list(map(Decimal, _texts(body, n))),
    7: _bytes,
    8: lambda body, n: list(map(date.fromordinal, map(PG_EPOCH_ORDINAL.__add__, body.cast("i").tolist()))),
    10: lambda body, n: _micros_to(PG_EPOCH, body.cast("q").tolist(), n),
    11: lambda body, n: _micros_to(PG_EPOCH_UTC, body.cast("q").tolist(), n),
    14: lambda body, n: list(map(json.loads, _texts(body, n))),
}


def decode_columnar(buf):
    mv = memoryview(buf)
    if mv[:4] != b"LLCB":
        raise ValueError("not a columnar batch")
    version, ncols, n, total = struct.unpack_from("<HHII", mv, 4)
    if version != 1 or total != len(mv):
        raise ValueError("unsupported version or truncated batch")
    off = 16
    cols = []
    for _ in range(ncols):
        off = (off + 7) & ~7
        kind, flags, elem, _, blen = struct.unpack_from("<BBBBI", mv, off)
        off += 8
        nulls = None
        if flags & 1:
            nulls = mv[off: off + n]
            off = (off + n + 7) & ~7
        col = COLUMNAR[kind](mv[off: off + blen], n)
        off += blen
        if nulls is not None:
            for i in compress(range(n), nulls):
                col[i] = None
        cols.append(col)
    return list(zip(*cols))


# --- json (TYPES.md, "FormatJSON") --------------------------------------


def _float(v):
    return float(v) if isinstance(v, str) else v


JSON_CONV = {
    "int64": int,
    "float64": _float,
    "numeric": Decimal,
    "bytes": binascii.a2b_base64,
    "timestamptz": lambda us: PG_EPOCH_UTC + timedelta(0, 0, us),
    "timestamp": lambda us: PG_EPOCH + timedelta(0, 0, us),
}


def decode_json(buf):
    doc = json.loads(buf)
    rows = doc["rows"]
    convs = [(j, JSON_CONV[k]) for j, k in enumerate(doc["kinds"]) if k in JSON_CONV]
    for r in rows:
        for j, f in convs:
            v = r[j]
            if v is not None:
                r[j] = f(v)
    return list(map(tuple, rows))


def decode_json_columns(buf):
    doc = json.loads(buf)
    cols = doc["columns"]
    for j, k in enumerate(doc["kinds"]):
        f = JSON_CONV.get(k)
        if f is None:
            continue
        col = cols[j]
        if None in col:
            cols[j] = [None if v is None else f(v) for v in col]
        else:
            cols[j] = list(map(f, col))
    return list(zip(*cols))


# --- pickle ---------------------------------------------------------------


# The globals a lakelink pickle batch may name (TYPES.md); the binding's
# unpickler refuses any other.
ALLOWED = {
    ("decimal", "Decimal"), ("datetime", "date"), ("datetime", "time"), ("datetime", "datetime"),
    ("datetime", "timedelta"), ("datetime", "timezone.utc"), ("uuid", "UUID"), ("json", "loads"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"lakelink batch names {module}.{name}")
        return super().find_class(module, name)


def decode_pickle(buf):
    version, rows = _Unpickler(io.BytesIO(buf)).load()
    if version != 1:
        raise ValueError("unsupported version")
    return rows


def decode_pickle_unrestricted(buf):
    return pickle.loads(buf)[1]


CANDIDATES = {
    "columnar": decode_columnar,
    "json": decode_json,
    "json-columns": decode_json_columns,
    "pickle": decode_pickle,
    "pickle-unrestricted": decode_pickle_unrestricted,
}

FILES = {"pickle-unrestricted": "pickle"}


def main():
    d = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    bufs = {}
    reference = None
    for name, decode in CANDIDATES.items():
        with open(f"{d}/batch.{FILES.get(name, name)}", "rb") as f:
            bufs[name] = f.read()
        rows = decode(bufs[name])
        if reference is None:
            reference = rows
        elif rows != reference:
            bad = next(i for i, (a, b) in enumerate(zip(rows, reference)) if a != b)
            raise SystemExit(f"{name}: row {bad} differs: {rows[bad]!r} != {reference[bad]!r}")
    # Round-robin, so that the machine's noise spreads over all candidates.
    times = {name: [] for name in CANDIDATES}
    for _ in range(reps):
        for name, decode in CANDIDATES.items():
            start = time.perf_counter()
            decode(bufs[name])
            times[name].append(time.perf_counter() - start)
    results = []
    n = len(reference)
    for name, ts in times.items():
        med = statistics.median(ts)
        results.append({"format": name, "rows": n, "median_ms": med * 1e3, "min_ms": min(ts) * 1e3,
                        "ns_per_row": med * 1e9 / n, "reps": reps})
        print(f"python {name:20s} median {med * 1e3:7.2f} ms  min {min(ts) * 1e3:7.2f} ms  "
              f"({med * 1e9 / n:5.0f} ns/row)")
    with open(f"{d}/python.json", "w") as f:
        json.dump({"python": sys.version.split()[0], "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
