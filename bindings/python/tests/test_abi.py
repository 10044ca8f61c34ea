"""The binding's view of the C ABI is lakelink.h's: every function _native.py declares, the lakelink_error structure,
the status codes and LAKELINK_ABI_VERSION are read from the header and compared (no library is loaded).

A function, field or status that changes in the header without the binding (or the other way round) fails here, not
as a crash or a misread value at run time. The binding may leave out functions it does not call.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any, Optional

from conftest import REPO

from lakelink import _native, errors

HEADER = REPO / "capi" / "lakelink.h"

_P = ctypes.POINTER
_SCALARS: dict[str, Any] = {"int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64}


def _allowed(c_type: str) -> list[Any]:
    """The ctypes types the binding may declare for a C type of the header (spelled without spaces before '*')."""
    if c_type in _SCALARS:
        return [_SCALARS[c_type]]
    if c_type.endswith("*") and c_type[:-1] in _SCALARS:
        return [_P(_SCALARS[c_type[:-1]])]
    return {
        "void": [None],
        "void*": [ctypes.c_void_p],
        "const char*": [ctypes.c_char_p],
        # A bytes object passes as c_char_p without a copy (its length goes alongside).
        "const uint8_t*": [_P(ctypes.c_uint8), ctypes.c_char_p],
        # Memory the library returns stays a raw pointer until lakelink_free frees it (c_char_p would lose it).
        "char**": [_P(ctypes.c_void_p)],
        "uint8_t**": [_P(ctypes.c_void_p)],
        "lakelink_error*": [_native.ErrPtr],
        "lakelink_error**": [_P(_native.ErrPtr)],
    }[c_type]


def _split(decl: str) -> tuple[str, str]:
    """'const char *conn_str' -> ('const char*', 'conn_str')."""
    m = re.fullmatch(r"(.*?)\s*(\w+)", " ".join(decl.split()))
    assert m, f"lakelink.h: cannot read the declaration {decl!r}"
    return re.sub(r"\s*\*", "*", m[1]), m[2]


class Header:
    """What lakelink.h declares, read from its text."""

    def __init__(self, text: str) -> None:
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        self.defines = {m[1]: int(m[2]) for m in re.finditer(r"^#define (LAKELINK_\w+) (-?\d+)\s*$", text, re.M)}
        struct = re.search(r"typedef struct lakelink_error \{(.*?)\} lakelink_error;", text, re.S)
        assert struct, "lakelink.h: no typedef struct lakelink_error"
        self.error_fields = [_split(d) for d in struct[1].split(";") if d.strip()]
        self.functions: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        for m in re.finditer(r"^([A-Za-z][\w ]*?[\s*]+)(lakelink_\w+)\(([^)]*)\);", text, re.M):
            params = [] if m[3].strip() in ("", "void") else [_split(p) for p in m[3].split(",")]
            self.functions[m[2]] = (re.sub(r"\s*\*", "*", m[1].strip()), params)


def _header() -> Header:
    h = Header(HEADER.read_text(encoding="utf-8"))
    # Not vacuous: the parser found what the header is known to hold.
    assert len(h.functions) >= 25 and len(h.functions["lakelink_query"][1]) == 13, sorted(h.functions)
    assert len(h.error_fields) >= 8 and "LAKELINK_ABI_VERSION" in h.defines and "LAKELINK_OK" in h.defines
    return h


def _name(t: Optional[Any]) -> str:
    """A ctypes type as the binding spells it (ctypes' own names are aliases: c_int32 is c_int)."""
    if t is None:
        return "None"
    if hasattr(t, "_type_") and isinstance(t._type_, type):  # POINTER(x)
        return f"POINTER({_name(t._type_)})"
    for c_type, scalar in _SCALARS.items():
        if t is scalar:
            return f"c_{c_type[:-2]}"
    return str(t.__name__)


def test_every_function_the_binding_declares_has_the_headers_signature() -> None:
    header = _header()
    wrong = []
    for name, (argtypes, restype) in _native._SIGNATURES.items():
        if name not in header.functions:
            wrong.append(f"{name}: not in lakelink.h")
            continue
        ret, params = header.functions[name]
        if len(argtypes) != len(params):
            wrong.append(f"{name}: {len(argtypes)} argument types, lakelink.h has {len(params)} parameters "
                         f"({', '.join(t + ' ' + n for t, n in params)})")
            continue
        for i, ((c_type, param), t) in enumerate(zip(params, argtypes)):
            if t not in _allowed(c_type):
                wrong.append(f"{name}: argument {i} ({c_type} {param}) is declared {_name(t)}, "
                             f"not {' or '.join(map(_name, _allowed(c_type)))}")
        if restype not in _allowed(ret):
            wrong.append(f"{name}: returns {_name(restype)}, lakelink.h says {ret}")
    assert not wrong, "_native._SIGNATURES differs from capi/lakelink.h:\n" + "\n".join(wrong)


def test_lakelink_error_has_the_headers_fields_in_order() -> None:
    fields = {"int32_t": ctypes.c_int32, "char*": ctypes.c_char_p}
    want = [(name, fields[c_type]) for c_type, name in _header().error_fields]
    assert list(_native._Error._fields_) == want, "_native._Error differs from lakelink.h's struct lakelink_error"


def test_status_codes_and_abi_version_are_the_headers() -> None:
    defines = _header().defines
    statuses = {k[len("LAKELINK_"):]: v for k, v in defines.items() if re.fullmatch(r"LAKELINK_(OK|ERR_\w+)", k)}
    binding = {k: v for k, v in vars(errors).items() if re.fullmatch(r"OK|ERR_[A-Z_]+", k)}
    assert binding == statuses, "lakelink.errors' status codes differ from lakelink.h's LAKELINK_OK/LAKELINK_ERR_*"
    assert _native.ABI_VERSION == defines["LAKELINK_ABI_VERSION"]
