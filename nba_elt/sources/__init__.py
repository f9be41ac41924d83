"""The sources the backfill runs, unit by unit (docs/internals.md, "Sources").

Each source is an object of the ``Source`` protocol (``sources/base.py``) registered here
by name; the functions below dispatch to it, so callers never branch on a source's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from nba_elt.errors import BadInput, DatabaseLost, DataNotAvailable, NbaEltError
from nba_elt.sources import boxscores, pbp, schedule
from nba_elt.sources.base import (
    FINAL_AFTER_DAYS,
    Source,
    SourceContext,
    Unit,
    check_game_id,
    final_since,
    is_final_day,
)
from nba_elt.sources.games import games_on
from nba_elt.warehouse.db import database_error

# In load order: a date's schedule first (the others check against it), then its games.
REGISTRY: dict[str, Source] = {s.name: s for s in (schedule.SOURCE, boxscores.SOURCE, pbp.SOURCE)}
SOURCES: tuple[str, ...] = tuple(REGISTRY)


def get_source(name: str) -> Source:
    try:
        return REGISTRY[name]
    except KeyError:
        raise BadInput(f"unknown source {name!r}; choose from {', '.join(SOURCES)}") from None


def units_for_dates(source: str, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these dates (pbp: one per game of each date)."""
    return get_source(source).units_for_dates(dates, ctx)


def units_for_games(source: str, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these games (schedule/boxscores: their dates)."""
    chosen = get_source(source)
    ids = list(dict.fromkeys(check_game_id(g) for g in game_ids))
    return chosen.units_for_games(ids, ctx)


def planned_urls(unit: Unit, ctx: SourceContext) -> list[str]:
    """What run_unit would fetch (the first page; fallbacks are tried only on a 404)."""
    return get_source(unit.source).planned_urls(unit, ctx)


def is_complete(unit: Unit, ctx: SourceContext) -> bool:
    """Loaded, final and consistent with the schedule: a backfill skips it unless --force."""
    return get_source(unit.source).is_complete(unit, ctx)


def run_unit(unit: Unit, ctx: SourceContext) -> int:
    """Fetch, parse, cross-check and load one unit in one transaction; rows written.

    Raises DataNotAvailable (not published yet), SourceError (SiteBlocked, PageNotFound,
    SchemaDrift, ConsistencyError ...) or LoadError; nothing is written then.
    The unit's pages enter the raw archive only when it passed (``record_written``); when
    it fails they go to the quarantine, named in the error; pages of data not published
    yet are dropped.
    """
    source = get_source(unit.source)
    try:
        rows = source.run(unit, ctx)
    except DataNotAvailable:
        ctx.client.forget_pending()
        raise
    except NbaEltError as exc:
        _quarantine(ctx, exc, unit)
        raise
    except Exception as exc:  # noqa: BLE001 - a database error mid-unit is a LoadError
        from sqlalchemy.exc import SQLAlchemyError

        error = exc
        if isinstance(exc, SQLAlchemyError):
            error = database_error(exc, f"{unit.source} {unit.unit_key}")
        if isinstance(error, NbaEltError):
            _quarantine(ctx, error, unit)
            raise error from exc
        ctx.client.settle(False, f"{type(exc).__name__}: {exc}")
        raise
    ctx.client.settle(True)
    return rows


def _quarantine(ctx: SourceContext, exc: NbaEltError, unit: Unit) -> None:
    """Keep the failed unit's pages apart; the error names where. A lost database says
    nothing about the pages: they are only dropped (fetched again on resume)."""
    if isinstance(exc, DatabaseLost):
        ctx.client.forget_pending()
        return
    name = f"{unit.source} {unit.unit_key}"
    reason = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
    location = ctx.client.settle(False, reason)
    if location:
        exc.args = (f"{exc} (its page(s) are kept in the quarantine {location})",)


__all__ = [
    "FINAL_AFTER_DAYS",
    "REGISTRY",
    "SOURCES",
    "Source",
    "SourceContext",
    "Unit",
    "check_game_id",
    "final_since",
    "games_on",
    "get_source",
    "is_complete",
    "is_final_day",
    "planned_urls",
    "run_unit",
    "units_for_dates",
    "units_for_games",
]
