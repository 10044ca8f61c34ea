"""Merging keyword overrides into a connection string.

The C ABI takes one string. Keyword overrides replace the same key (keys
are case-insensitive; DatabricksInstance is an alias of Host) and their
values are quoted per the grammar (core/connstr): with ', the quote doubled
inside. The base string is only split here, never interpreted: the core
parses and validates the result.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

_ALIASES = {"databricksinstance": "host"}


def _canon(key: str) -> str:
    k = key.strip().lower()
    return _ALIASES.get(k, k)


def quote(value: str) -> str:
    """value as written in a connection string: as is, or quoted with '."""
    if value == "" or any(c in value for c in ";='\"") or value != value.strip():
        return "'" + value.replace("'", "''") + "'"
    return value


def _segments(s: str) -> list[tuple[str, str]]:
    """Splits s into (key, raw segment text) pairs, honouring quoted values.

    A segment the core would refuse is kept as it is, for the core to
    report (with its own message).
    """
    out: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while i < n:
        start = i
        eq = s.find("=", i)
        semi = s.find(";", i)
        if eq < 0 or (0 <= semi < eq):
            end = n if semi < 0 else semi
            seg = s[start:end]
            if seg.strip():
                out.append(("", seg))
            i = end + 1
            continue
        key = s[start:eq]
        j = eq + 1
        while j < n and s[j].isspace():
            j += 1
        if j < n and s[j] in "'\"":
            q = s[j]
            j += 1
            while j < n:
                if s[j] == q:
                    if j + 1 < n and s[j + 1] == q:
                        j += 2
                        continue
                    j += 1
                    break
                j += 1
        end = s.find(";", j)
        if end < 0:
            end = n
        out.append((_canon(key), s[start:end]))
        i = end + 1
    return out


def build(conn_str: Optional[str], overrides: Mapping[str, Any]) -> str:
    """conn_str with overrides applied (a None value removes the key)."""
    base = conn_str or ""
    if not overrides:
        return base
    keys = {_canon(k) for k in overrides}
    parts = [raw for key, raw in _segments(base) if key not in keys]
    for k, v in overrides.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{k}={quote(str(v))}")
    return ";".join(p.strip() for p in parts if p.strip())
