"""Merging keyword overrides into a connection string.

The C ABI takes one string. Keyword overrides are applied by the core
(lakelink_connstr_merge), which knows the grammar, the property names and
their aliases: an override replaces the property of any spelling, and None
removes it.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Mapping, Optional

from . import _native


class Masked(str):
    """A connection string whose repr is its normalized form, secrets as ***: what build returns, so that a
    debug page showing a frame's local variables (Django's, with DEBUG=True) or a pprint shows no secret.
    It is the string itself otherwise: the core reads it as given."""

    def __repr__(self) -> str:
        from .connection import describe
        return describe(self)


def build(conn_str: Optional[str], overrides: Mapping[str, Any]) -> str:
    """conn_str with overrides applied (a None value removes the key), as a Masked string."""
    base = conn_str or ""
    if not overrides:
        return base if isinstance(base, Masked) else Masked(base)
    fields = {k: None if v is None else _text(v) for k, v in overrides.items()}
    out, err = ctypes.c_void_p(), _native.error_out()
    lib = _native.lib()
    _native.raise_for(lib.lakelink_connstr_merge(_native.cstr(base), _native.cstr(json.dumps(fields)),
                                                 ctypes.byref(out), ctypes.byref(err)), err)
    return Masked(_native.take_string(out))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
