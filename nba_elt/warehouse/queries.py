"""Small reads of the warehouse that several steps share (one place for each query)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

_ENABLED_FLAGS = text("select flag from nba_source.feature_flags where is_enabled")


def enabled_flags(bind: Connection | Engine) -> set[str]:
    """The flags switched on in nba_source.feature_flags (source names: schedule, pbp ...)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return enabled_flags(conn)
    return set(bind.execute(_ENABLED_FLAGS).scalars())
