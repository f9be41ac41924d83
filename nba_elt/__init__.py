"""nba-elt: NBA data from basketball-reference into Postgres, dbt, a model, a dashboard.

The public API (docs/python-api.md) is importable from here; it loads on first use, so
`import nba_elt` stays cheap:

    import nba_elt
    nba_elt.get_boxscores("2018-01-01")            # a DataFrame, one row per player
    nba_elt.backfill(date="2018-01-01", sources=["schedule", "boxscores"]).units
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nba_elt.api import (
        backfill,
        daily,
        get_boxscores,
        get_pbp,
        get_schedule,
        predict,
        reboot_dashboard,
        refresh,
        verify,
        write_upsert,
    )
    from nba_elt.config import Settings

__all__ = [
    "Settings",
    "backfill",
    "daily",
    "get_boxscores",
    "get_pbp",
    "get_schedule",
    "predict",
    "reboot_dashboard",
    "refresh",
    "verify",
    "write_upsert",
]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from nba_elt.config import Settings

        return Settings
    if name in __all__:
        from nba_elt import api

        return getattr(api, name)
    raise AttributeError(f"module 'nba_elt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
