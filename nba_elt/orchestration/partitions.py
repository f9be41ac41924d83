"""The game days every Dagster asset of nba-elt is partitioned by, and the site pools.

One daily partitions definition in US Eastern time (the NBA's calendar, as
nba_elt.dates): partition "2018-01-01" is the games played that evening. It reaches
today (end_offset=1), so today's predictions have a partition.
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

from nba_elt.dates import FIRST_DATE

# The first season the sources cover (1946-47, nba_elt.dates): the partitions start there
# unless NBA_ELT_DAGSTER_FIRST_DAY says otherwise (play-by-play starts with 1996-97).
FIRST_DAY = FIRST_DATE
FIRST_DAY_ENV = "NBA_ELT_DAGSTER_FIRST_DAY"
TIMEZONE = "America/New_York"


def first_day() -> dt.date:
    """NBA_ELT_DAGSTER_FIRST_DAY (YYYY-MM-DD) or the first season the sources cover."""
    raw = (os.environ.get(FIRST_DAY_ENV) or "").strip()
    if not raw:
        return FIRST_DAY
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{FIRST_DAY_ENV} must be a date as YYYY-MM-DD, got {raw!r}") from None


def game_days(start: dt.date | None = None) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=(start or first_day()).isoformat(), timezone=TIMEZONE, end_offset=1
    )


def day_of(partition_key: str) -> dt.date:
    return dt.date.fromisoformat(partition_key)


# One request stream per site: the Dagster concurrency pool of every asset that fetches.
# Limit 1 by default (instance config `concurrency: pools: default_limit: 1`).
POOL_OF_PROVIDER = {"bbref": "bbref", "auto": "bbref", "nba": "nba"}
# One dbt build of the warehouse at a time (delete+insert on the same facts).
DBT_POOL = "dbt"
POOLS = ("bbref", "nba", DBT_POOL)
