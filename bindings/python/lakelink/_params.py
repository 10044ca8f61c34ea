"""pyformat placeholders to PostgreSQL's $n, and the parameter encoding (TYPES.md, "Parameters").

Values are never interpolated into the SQL text: ``%s`` and ``%(name)s``
become ``$1``, ``$2``... and the values travel apart, encoded per TYPES.md.
``%%`` is a literal ``%``. Without parameters the SQL is sent as it is (as
psycopg does), so ``%`` needs no doubling there.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import json
import re
import struct
import uuid
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .errors import ProgrammingError
from .types import Json

Params = Union[Sequence[Any], Mapping[str, Any]]

_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<conv>.)?", re.DOTALL)
_EPOCH_DATE = 730120  # date(2000, 1, 1).toordinal()
_EPOCH = _dt.datetime(2000, 1, 1)
_EPOCH_TZ = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
_US = _dt.timedelta(microseconds=1)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_MAX_DEPTH = 6


def convert(sql: str, params: Optional[Params]) -> tuple[str, list[Any]]:
    """Rewrites sql's placeholders to $n and returns (sql, values in $n order)."""
    if params is None:
        return sql, []
    if isinstance(params, Mapping):
        text, takes = _scan(sql)
        names = [name for name in takes if name is not None]
        if len(names) < len(takes):
            raise ProgrammingError("the query uses '%s' placeholders but the parameters are a mapping")
        for name in names:
            if name not in params:
                raise ProgrammingError(f"the query needs the parameter {name!r}, which is not given")
        return text, [params[name] for name in names]
    if isinstance(params, (str, bytes, bytearray)) or not isinstance(params, Sequence):
        raise ProgrammingError(
            f"query parameters must be a sequence or a mapping, not {type(params).__name__}")
    text, takes = _scan(sql)
    if takes and takes[0] is not None:
        raise ProgrammingError("the query uses '%(name)s' placeholders but the parameters are a sequence")
    if len(takes) > len(params):
        raise ProgrammingError(f"the query has more '%s' placeholders than the {len(params)} parameters given")
    if len(takes) < len(params):
        raise ProgrammingError(f"the query has {len(takes)} placeholders but {len(params)} parameters were given")
    return text, list(params)


@functools.lru_cache(maxsize=256)
def _scan(sql: str) -> tuple[str, tuple[Optional[str], ...]]:
    """sql with $n for its placeholders, and what each $n takes: None (the next positional parameter) or a name.

    Cached per SQL text: a statement run again and again is scanned once.
    """
    out: list[str] = []
    takes: list[Optional[str]] = []
    numbers: dict[str, int] = {}
    last = 0
    for m in _PLACEHOLDER.finditer(sql):
        out.append(sql[last:m.start()])
        last = m.end()
        name, conv = m.group("name"), m.group("conv")
        if name is None and conv == "%":
            out.append("%")
            continue
        if conv not in ("s", "b", "t"):
            raise ProgrammingError(
                f"only '%s', '%(name)s' and '%%' are placeholders; found {m.group(0)!r} at offset {m.start()} "
                "(write '%%' for a literal '%')")
        if name is None:
            takes.append(None)
            out.append(f"${len(takes)}")
        else:
            if name not in numbers:
                takes.append(name)
                numbers[name] = len(takes)
            out.append(f"${numbers[name]}")
    out.append(sql[last:])
    if numbers and None in takes:
        raise ProgrammingError("the query mixes '%s' and '%(name)s' placeholders")
    return "".join(out), tuple(takes)


def encode(values: Sequence[Any]) -> bytes:
    """The parameter buffer for values (TYPES.md, "Parameters (version 1)")."""
    if len(values) > 65535:
        raise ProgrammingError(f"{len(values)} parameters: PostgreSQL takes at most 65535")
    buf = bytearray(b"LLPB")
    buf += struct.pack("<HH", 1, len(values))
    for i, v in enumerate(values):
        try:
            _value(buf, v, 0)
        except TypeError as e:
            raise type(e)(f"parameter ${i + 1}: {e}") from None
        except ProgrammingError as e:
            raise ProgrammingError(f"parameter ${i + 1}: {e.message}") from None
    return bytes(buf)


def _len_bytes(buf: bytearray, tag: int, data: bytes) -> None:
    buf += struct.pack("<BI", tag, len(data))
    buf += data


def _value(buf: bytearray, v: Any, depth: int) -> None:
    if v is None:
        buf.append(0)
    elif isinstance(v, bool):
        buf += struct.pack("<BB", 2, 1 if v else 0)
    elif isinstance(v, int):
        if _INT64_MIN <= v <= _INT64_MAX:
            buf += struct.pack("<Bq", 4, v)
        else:
            _len_bytes(buf, 6, str(int(v)).encode())
    elif isinstance(v, float):
        buf += struct.pack("<Bd", 5, v)
    elif isinstance(v, str):
        _len_bytes(buf, 1, v.encode("utf-8", "surrogatepass"))
    elif isinstance(v, decimal.Decimal):
        if v.is_snan():
            raise ProgrammingError("a signaling NaN Decimal has no PostgreSQL equivalent")
        _len_bytes(buf, 6, str(v).encode())
    elif isinstance(v, (bytes, bytearray, memoryview)):
        _len_bytes(buf, 7, bytes(v))
    elif isinstance(v, _dt.datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            buf += struct.pack("<Bq", 10, (v - _EPOCH) // _US)
        else:
            buf += struct.pack("<Bq", 11, (v - _EPOCH_TZ) // _US)
    elif isinstance(v, _dt.date):
        buf += struct.pack("<Bi", 8, v.toordinal() - _EPOCH_DATE)
    elif isinstance(v, _dt.time):
        if v.tzinfo is not None:
            raise TypeError("a datetime.time with tzinfo (timetz) is not supported; pass a naive time")
        us = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
        buf += struct.pack("<Bq", 9, us)
    elif isinstance(v, _dt.timedelta):
        buf += struct.pack("<Bqii", 12, v.seconds * 1_000_000 + v.microseconds, v.days, 0)
    elif isinstance(v, uuid.UUID):
        buf.append(13)
        buf += v.bytes
    elif isinstance(v, Json):
        _len_bytes(buf, 14, json.dumps(v.obj).encode())
    elif isinstance(v, dict):
        _len_bytes(buf, 14, json.dumps(v).encode())
    elif isinstance(v, (list, tuple)):
        if depth >= _MAX_DEPTH:
            raise ProgrammingError(f"arrays nest at most {_MAX_DEPTH} deep in PostgreSQL")
        buf += struct.pack("<BI", 15, len(v))
        for e in v:
            _value(buf, e, depth + 1)
    else:
        raise ProgrammingError(f"cannot adapt a value of type {type(v).__module__}.{type(v).__qualname__}")


# ---- parameter rows (TYPES.md, "Parameter rows"): executemany and COPY's write_row ----

_HEADERS = [b"LLPB" + struct.pack("<HH", 1, n) for n in range(256)]

# The fast path's value types: the struct format of each, its tag, and whether its payload is sized bytes.
_FAST = {int: ("Bq", 4), float: ("Bd", 5), str: ("BI", 1), type(None): ("B", 0), bool: ("BB", 2)}


def _compile_row(types: tuple[type, ...]) -> Callable[[bytearray, Sequence[Any]], bool]:
    """An encoder of rows whose values have exactly these types, generated once per type signature: it checks
    the types and appends the row (as append_row would) with a few struct packs, or returns False."""
    names = [f"v{i}" for i in range(len(types))]
    guard = " or ".join(f"type({v}) is not {'t%d' % i}" for i, v in enumerate(names)) or "False"
    lines = [f"def enc(buf, row):",
             f"    if len(row) != {len(types)}:",
             "        return False",
             f"    {', '.join(names)}{',' if len(names) == 1 else ''} = row" if names else "    pass",
             f"    if {guard}:",
             "        return False"]
    fmt, args = "<8s", ["HDR"]
    packs: list[tuple[Optional[str], list[str]]] = []
    env: dict[str, Any] = {"HDR": b"LLPB\x01\x00" + struct.pack("<H", len(types))}
    for i, (t, v) in enumerate(zip(types, names)):
        env[f"t{i}"] = t
        code, tag = _FAST[t]
        fmt += code
        if t is str:
            lines.append(f"    s{i} = {v}.encode('utf-8', 'surrogatepass')")
            args += [str(tag), f"len(s{i})"]
            packs.append((fmt, args))
            packs.append((None, [f"s{i}"]))
            fmt, args = "<", []
        elif t is type(None):
            args.append("0")
        elif t is bool:
            args += ["2", f"(1 if {v} else 0)"]
        else:
            args += [str(tag), v]
    if args:
        packs.append((fmt, args))
    for k, (f, a) in enumerate(packs):
        if f is None:
            lines.append(f"    buf += {a[0]}")
        else:
            env[f"P{k}"] = struct.Struct(f).pack
            lines.append(f"    buf += P{k}({', '.join(a)})")
    lines.append("    return True")
    exec("\n".join(lines), env)  # noqa: S102 - code made above from a fixed template, no input text in it
    enc: Callable[[bytearray, Sequence[Any]], bool] = env["enc"]
    return enc


_row_encoders: dict[tuple[type, ...], Callable[[bytearray, Sequence[Any]], bool]] = {}


class RowEncoder:
    """Appends rows to a buffer as parameter lists (TYPES.md, "Parameter rows"), fast for rows of ints,
    floats, strs, bools and Nones: an encoder generated per row shape, the last one tried first."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: Callable[[bytearray, Sequence[Any]], bool] = _never

    def append(self, buf: bytearray, row: Sequence[Any]) -> None:
        start = len(buf)
        try:
            if self._last(buf, row):
                return
        except (struct.error, UnicodeEncodeError):  # an int outside int64: the general path says what to do
            del buf[start:]
        else:
            types = tuple(map(type, row)) if isinstance(row, (tuple, list)) else None
            if types is not None and len(types) < 256 and all(t in _FAST for t in types):
                enc = _row_encoders.get(types)
                if enc is None:
                    if len(_row_encoders) >= 256:
                        _row_encoders.clear()
                    enc = _row_encoders[types] = _compile_row(types)
                self._last = enc
                try:
                    if enc(buf, row):
                        return
                except (struct.error, UnicodeEncodeError):
                    del buf[start:]
        append_row(buf, row)


def _never(buf: bytearray, row: Sequence[Any]) -> bool:
    return False


def append_row(buf: bytearray, values: Sequence[Any]) -> None:
    """Appends values as one parameter list to buf (encode's encoding), naming the parameter on an error."""
    n = len(values)
    if n > 65535:
        raise ProgrammingError(f"{n} parameters: PostgreSQL takes at most 65535")
    start = len(buf)
    buf += _HEADERS[n] if n < 256 else b"LLPB" + struct.pack("<HH", 1, n)
    for i, v in enumerate(values):
        try:
            _value(buf, v, 0)
        except TypeError as e:
            del buf[start:]
            raise type(e)(f"parameter ${i + 1}: {e}") from None
        except ProgrammingError as e:
            del buf[start:]
            raise ProgrammingError(f"parameter ${i + 1}: {e.message}") from None


def encode_rows(sql: str, seq_of_parameters: Any) -> tuple[str, bytes, int]:
    """executemany's statement with $n placeholders, its parameter rows, and how many rows there are."""
    buf = bytearray()
    encoder = RowEncoder()
    text: Optional[str] = None
    width = -1  # the placeholders of a sequence row
    rows = 0
    for params in seq_of_parameters:
        t = type(params)
        if (t is tuple or t is list) and len(params) == width:  # the usual row: no ABC checks
            values = params
        else:
            text, values = convert(sql, params)
            if not isinstance(params, Mapping):
                width = len(values)
        encoder.append(buf, values)
        rows += 1
    return (text if text is not None else sql), bytes(buf), rows
