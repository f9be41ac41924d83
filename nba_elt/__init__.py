"""nba-elt: NBA data from basketball-reference into Postgres, dbt, a model, a dashboard.

The public API (docs/python-api.md). `import nba_elt` stays cheap: each function imports
what it needs (pandas, SQLAlchemy, dbt's runner ...) when first called.

    import nba_elt
    nba_elt.get_boxscores("2018-01-01")            # a DataFrame, one row per player
    nba_elt.backfill(date="2018-01-01", sources=["schedule", "boxscores"]).units
"""

from nba_elt.api import (
    activate_model,
    backfill,
    daily,
    demo,
    feature_flags,
    gaps,
    get_boxscores,
    get_pbp,
    get_schedule,
    models,
    predict,
    reboot_dashboard,
    refresh,
    train,
    verify,
    write_upsert,
)
from nba_elt.config import Settings, get_settings
from nba_elt.ingest.request import BackfillRequest

__all__ = [
    "BackfillRequest",
    "Settings",
    "activate_model",
    "backfill",
    "daily",
    "demo",
    "feature_flags",
    "gaps",
    "get_boxscores",
    "get_pbp",
    "get_schedule",
    "get_settings",
    "models",
    "predict",
    "reboot_dashboard",
    "refresh",
    "train",
    "verify",
    "write_upsert",
]
