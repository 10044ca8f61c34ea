"""SQLAlchemy's dialect compliance suite, run for postgresql+lakelink (requirements.py says what is left out and why)."""

from sqlalchemy.testing.suite import *  # noqa: F401,F403
