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
from typing import Any, Mapping, Optional, Sequence, Union

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

_pack_i64 = struct.Struct("<Bq").pack
_pack_f64 = struct.Struct("<Bd").pack
_pack_sized = struct.Struct("<BI").pack
_HEADERS = [b"LLPB" + struct.pack("<HH", 1, n) for n in range(256)]


def append_row(buf: bytearray, values: Sequence[Any]) -> None:
    """Appends values as one parameter list to buf (encode's encoding, with a fast path for the usual types)."""
    n = len(values)
    start = len(buf)
    buf += _HEADERS[n] if n < 256 else b"LLPB" + struct.pack("<HH", 1, n)
    try:
        for v in values:
            t = type(v)
            if t is int and _INT64_MIN <= v <= _INT64_MAX:
                buf += _pack_i64(4, v)
            elif t is str:
                b = v.encode("utf-8", "surrogatepass")
                buf += _pack_sized(1, len(b))
                buf += b
            elif t is float:
                buf += _pack_f64(5, v)
            elif v is None:
                buf.append(0)
            else:
                _value(buf, v, 0)
    except (TypeError, ProgrammingError):
        del buf[start:]
        encode(values)  # raises the error naming the parameter
        raise


def encode_rows(sql: str, seq_of_parameters: Any) -> tuple[str, bytes, int]:
    """executemany's statement with $n placeholders, its parameter rows, and how many rows there are."""
    buf = bytearray()
    text: Optional[str] = None
    rows = 0
    for params in seq_of_parameters:
        if isinstance(params, Mapping) or text is None:
            text, values = convert(sql, params)
        else:
            values = params
            if isinstance(params, (str, bytes, bytearray)) or not isinstance(params, Sequence):
                raise ProgrammingError(
                    f"query parameters must be a sequence or a mapping, not {type(params).__name__}")
            if len(params) != len(_scan(sql)[1]):
                convert(sql, params)  # raises the error naming the mismatch
        if len(values) > 65535:
            raise ProgrammingError(f"{len(values)} parameters: PostgreSQL takes at most 65535")
        append_row(buf, values)
        rows += 1
    return (text if text is not None else sql), bytes(buf), rows
