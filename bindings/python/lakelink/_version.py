"""The package's version.

In the lakelink checkout it is read from the VERSION file at the checkout's root, the one place the version is written.
A wheel or sdist carries this module with the version written in instead (_backend/lakelink_build.py writes it).
"""

from pathlib import Path

version = (Path(__file__).resolve().parents[3] / "VERSION").read_text(encoding="utf-8").strip()
