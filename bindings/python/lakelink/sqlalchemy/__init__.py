"""SQLAlchemy dialects over lakelink: ``postgresql+lakelink://`` (:class:`LakelinkDialect`, over
lakelink's PEP 249 driver) and ``postgresql+lakelink_async://`` (:class:`LakelinkAsyncDialect`, over
:mod:`lakelink.aio`).

The wheel registers both as SQLAlchemy entry points (``pip install lakelink[sqlalchemy]``).
"""

from __future__ import annotations

from .asyncio import LakelinkAsyncDialect
from .base import LakelinkDialect

__all__ = ["LakelinkDialect", "LakelinkAsyncDialect"]
