"""PEP 249 type constructors and type objects, and the Json wrapper."""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Any

__all__ = [
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
    "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Json", "DBAPITypeObject",
]

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:
    """The local date of a Unix time."""
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    """The local time of day of a Unix time."""
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    """The local (naive) timestamp of a Unix time."""
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(data: Any) -> bytes:
    """A binary (bytea) value."""
    return bytes(data)


class DBAPITypeObject:
    """A type object: equal to each of its PostgreSQL type OIDs (description's type_code)."""

    def __init__(self, name: str, *oids: int) -> None:
        self.name = name
        self.values = frozenset(oids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self.values == other.values
        if isinstance(other, int):
            return other in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self.values)

    def __repr__(self) -> str:
        return f"<lakelink type {self.name}>"


# OIDs from TYPES.md (scalars and their arrays).
STRING = DBAPITypeObject("STRING", 25, 1043, 1042, 19, 18, 114, 3802, 1009, 1015, 1014, 1003, 199, 3807)
BINARY = DBAPITypeObject("BINARY", 17, 1001)
NUMBER = DBAPITypeObject("NUMBER", 20, 21, 23, 26, 700, 701, 1700, 1016, 1005, 1007, 1021, 1022, 1231)
DATETIME = DBAPITypeObject("DATETIME", 1082, 1083, 1114, 1184, 1186, 1266, 1182, 1183, 1115, 1185, 1187)
ROWID = DBAPITypeObject("ROWID", 26)


class Json:
    """Sends a value (a list, a string, a number...) as json rather than by its Python type."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __repr__(self) -> str:
        return f"Json({self.obj!r})"
