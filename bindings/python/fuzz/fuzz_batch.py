"""Mutation fuzzing of the batch decoder, ``lakelink._batch.decode``.

``make fuzz`` runs it for 60 seconds. It needs nothing but the standard
library: no coverage-guided fuzzer instruments CPython's C unpickler, which
does the decoding, so this harness mutates real batches (``corpus/``,
encoded by the Go core from PostgreSQL query results) with byte-level and
pickle-aware mutations, and keeps any input that ends in a new way.

For every input, decode must return a list or raise InterfaceError (any
other exception is a failure: a caller catching lakelink's errors would
miss it), and must import no module (the restricted unpickler lets a batch
name eight globals of modules already loaded, nothing else). Failing inputs
are written to ``crashes/`` and the exit status is 1.
"""

from __future__ import annotations

import argparse
import pickle
import pickletools
import random
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lakelink import _batch  # noqa: E402
from lakelink.errors import InterfaceError  # noqa: E402

OPCODES = [op.code.encode("latin-1") for op in pickletools.opcodes]
INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff" * 8,
               b"decimal\nDecimal\n", b"os\nsystem\n", b"builtins\neval\n", b"sNaN", b"NaN", b"-0E-999999999",
               b"9" * 400, b"\x8c\x07decimal\x8c\x07Decimal\x93"]


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        pos = rng.randrange(len(b) + 1)
        kind = rng.randrange(8)
        if kind == 0 and b:  # flip a bit
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and b:  # a random byte
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 2:  # an opcode
            b[pos:pos] = rng.choice(OPCODES)
        elif kind == 3:  # an interesting value
            b[pos:pos] = rng.choice(INTERESTING)
        elif kind == 4 and b:  # delete a span
            del b[pos:pos + rng.randrange(1, 16)]
        elif kind == 5 and b:  # duplicate a span
            start = rng.randrange(len(b))
            b[pos:pos] = b[start:start + rng.randrange(1, 32)]
        elif kind == 6:  # splice another input in
            other = rng.choice(corpus)
            start = rng.randrange(len(other) + 1)
            b[pos:pos] = other[start:start + rng.randrange(1, 64)]
        elif kind == 7:  # truncate
            del b[pos:]
    return bytes(b)


def outcome(data: bytes) -> tuple[str, str | None]:
    """How decoding data ends: a signature, and a failure or None."""
    modules = set(sys.modules)
    try:
        rows = _batch.decode(data)
    except InterfaceError as e:
        return "error:" + re.sub(r"\d+", "N", str(e).removeprefix("lakelink: undecodable result batch: ").split(":")[0][:40]), None
    except BaseException as e:  # noqa: BLE001 - anything else is what we look for
        if isinstance(e, KeyboardInterrupt):
            raise
        return "crash", f"{type(e).__name__}: {e}"[:300]
    finally:
        imported = set(sys.modules) - modules
    if imported:
        return "crash", f"decoding imported {sorted(imported)}"
    if not isinstance(rows, list):
        return "crash", f"decode returned {type(rows).__name__}, not a list"
    return "ok:" + ",".join(sorted({type(v).__name__ for r in rows[:5] for v in (r if isinstance(r, tuple) else (r,))})), None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    # A runaway allocation becomes a MemoryError (a failure) rather than
    # the machine's problem.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, resource.RLIM_INFINITY))
    # CPython's C unpickler, failing to fill a BYTEARRAY8 from a short
    # input, frees the bytearray while a buffer of it is exported, and
    # prints the SystemError that bytearray_dealloc reports through
    # sys.excepthook (CPython 3.11). decode is not at fault: count them.
    quirks = 0

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        nonlocal quirks
        if kind is SystemError and "exported buffers" in str(value):
            quirks += 1
        else:
            sys.__excepthook__(kind, value, tb)

    sys.excepthook = excepthook
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    corpus = [p.read_bytes() for p in sorted((HERE / "corpus").iterdir())]
    corpus += [pickle.dumps((1, [(1, "a", None)]), protocol=p) for p in range(2, 6)]
    seen: set[str] = set()
    crashes: list[tuple[bytes, str]] = []
    for data in corpus:
        sig, failure = outcome(data)
        if failure or not sig.startswith("ok"):
            print(f"seed input does not decode: {failure or sig}", file=sys.stderr)
            return 1
        seen.add(sig)
    execs = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        data = mutate(rng.choice(corpus), rng, corpus)
        sig, failure = outcome(data)
        execs += 1
        if failure:
            crashes.append((data, failure))
            if len(crashes) >= 20:
                break
        elif sig not in seen:
            seen.add(sig)
            corpus.append(data)
    print(f"fuzz_batch: seed {seed}, {execs} inputs in {args.seconds:.0f}s, {len(corpus)} in corpus, "
          f"{len(seen)} outcomes, {len(crashes)} failures ({quirks} CPython bytearray SystemErrors counted, not failures)")
    if crashes:
        out = HERE / "crashes"
        out.mkdir(exist_ok=True)
        for i, (data, failure) in enumerate(crashes):
            (out / f"crash-{seed}-{i}").write_bytes(data)
            print(f"  {failure}", file=sys.stderr)
        print(f"failing inputs written to {out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
