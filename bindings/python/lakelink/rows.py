"""Row factories, as ``psycopg.rows``: how a cursor returns each row.

A row factory is called with the cursor once its statement's columns are
known (``cursor.description``) and returns a function that makes one row
from a tuple of values. Pass one as ``conn.cursor(row_factory=...)``, or
set ``Connection.row_factory`` for the connection's new cursors::

    from lakelink.rows import dict_row
    cur = conn.cursor(row_factory=dict_row)
    cur.execute("SELECT 1 AS id, 'a' AS name").fetchone()   # {'id': 1, 'name': 'a'}

The sync and async cursors (``lakelink.aio``) take the same factories.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Protocol

if TYPE_CHECKING:
    from .cursor import Column

__all__ = ["RowMaker", "RowFactory", "tuple_row", "dict_row", "namedtuple_row", "DictRow", "TupleRow"]

TupleRow = tuple[Any, ...]
DictRow = dict[str, Any]

RowMaker = Callable[[TupleRow], Any]
"""Makes one row from its values (a tuple, in the columns' order)."""


class _Described(Protocol):
    """What a row factory reads of a cursor: its description."""

    @property
    def description(self) -> Optional[tuple[Column, ...]]: ...


RowFactory = Callable[[Any], RowMaker]
"""Called with a cursor whose columns are known; returns its RowMaker."""


def _identity(values: TupleRow) -> TupleRow:
    return values


def tuple_row(cursor: _Described) -> Callable[[TupleRow], TupleRow]:
    """Rows as tuples (the default)."""
    return _identity


def dict_row(cursor: _Described) -> Callable[[TupleRow], DictRow]:
    """Rows as dicts of column name to value."""
    names = [c.name for c in cursor.description or ()]

    def make(values: TupleRow) -> DictRow:
        return dict(zip(names, values))

    return make


def namedtuple_row(cursor: _Described) -> Callable[[TupleRow], NamedTuple]:
    """Rows as named tuples, their fields the column names (made valid identifiers, as psycopg does)."""
    cls = _row_class(tuple(c.name for c in cursor.description or ()))
    return cls._make  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", [_field(n, i) for i, n in enumerate(names)])


def _field(name: str, i: int) -> str:
    """A column name as a valid, non-underscore field name (psycopg's rule)."""
    f = re.sub(r"\W", "_", name)
    if not f or f[0].isdigit() or f[0] == "_" or keyword.iskeyword(f):
        f = "f" + f
    return f if f.isidentifier() else f"f{i}"

