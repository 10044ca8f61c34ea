"""One version: the checkout's VERSION file is lakelink.__version__ and the library's lakelink_version()."""

from __future__ import annotations

from conftest import REPO

import lakelink


def test_package_and_library_report_the_checkouts_version() -> None:
    version = (REPO / "VERSION").read_text(encoding="utf-8").strip()
    assert lakelink.__version__ == version
    assert lakelink.library_version() == version

