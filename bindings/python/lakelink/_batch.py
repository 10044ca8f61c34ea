"""Decoding result batches (TYPES.md, "FormatPickle (version 1)").

A batch is the pickle of ``(1, rows)``. It is read with an Unpickler that
refuses every global but the eight a batch may name, so a batch can never
make Python import or call anything else.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from .errors import InterfaceError

FORMAT = "pickle"
FORMAT_C = FORMAT.encode()  # as the C calls take it
VERSION = 1

ALLOWED = frozenset({
    ("decimal", "Decimal"), ("datetime", "date"), ("datetime", "time"), ("datetime", "datetime"),
    ("datetime", "timedelta"), ("datetime", "timezone.utc"), ("uuid", "UUID"), ("json", "loads"),
})


class BatchUnpickler(pickle.Unpickler):
    """An Unpickler for lakelink batches: only ALLOWED globals."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"a lakelink batch may not name {module}.{name}")
        return super().find_class(module, name)


def decode(buf: bytes) -> list[tuple[Any, ...]]:
    """The rows of one batch."""
    try:
        version, rows = BatchUnpickler(io.BytesIO(buf)).load()
    except Exception as e:  # a damaged batch fails in any of a dozen ways; all are this one error
        raise InterfaceError(f"lakelink: undecodable result batch: {type(e).__name__}: {e}") from None
    if type(version) is not int:
        raise InterfaceError("lakelink: a result batch without a format version")
    if version != VERSION:
        raise InterfaceError(f"batch format version {version}; this binding reads version {VERSION}")
    if not isinstance(rows, list):
        raise InterfaceError("lakelink: a result batch without a row list")
    return rows
