"""The sources the backfill runs, unit by unit (docs/internals.md, "Sources").

Each source is an object of the ``Source`` protocol (``sources/base.py``) registered here
by (name, provider): basketball-reference's (``sources/schedule.py`` ...) and the NBA's
(``sources/nba/``). The functions below dispatch to it, so callers never branch on a
source's name or provider: planning uses ``ctx.provider``, running uses ``unit.provider``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError

from nba_elt.errors import BadInput, DatabaseLost, DataNotAvailable, NbaEltError
from nba_elt.sources import boxscores, pbp, schedule
from nba_elt.sources.base import (
    DEFAULT_PROVIDER,
    PROVIDERS,
    Source,
    SourceContext,
    Unit,
    check_game_id,
    forget_clients,
    settle_clients,
)
from nba_elt.sources.nba import sources as nba_sources
from nba_elt.warehouse.db_errors import database_error

# In load order: a date's schedule first (the others check against it), then its games.
_BY_PROVIDER = {
    "bbref": (schedule.SOURCE, boxscores.SOURCE, pbp.SOURCE),
    "nba": nba_sources.SOURCES,
}
REGISTRY: dict[tuple[str, str], Source] = {
    (s.name, s.provider): s for group in _BY_PROVIDER.values() for s in group
}
SOURCES: tuple[str, ...] = tuple(s.name for s in _BY_PROVIDER[DEFAULT_PROVIDER])


def get_source(name: str, provider: str = DEFAULT_PROVIDER) -> Source:
    if provider not in PROVIDERS:
        raise BadInput(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")
    try:
        return REGISTRY[(name, provider)]
    except KeyError:
        raise BadInput(f"unknown source {name!r}; choose from {', '.join(SOURCES)}") from None


def units_for_dates(source: str, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these dates, from ``ctx.provider`` (pbp: one per game)."""
    return get_source(source, ctx.provider).units_for_dates(dates, ctx)


def units_for_games(source: str, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these games (schedule/boxscores: their dates)."""
    chosen = get_source(source, ctx.provider)
    ids = list(dict.fromkeys(check_game_id(g) for g in game_ids))
    return chosen.units_for_games(ids, ctx)


def planned_urls(unit: Unit, ctx: SourceContext) -> list[str]:
    """What run_unit would fetch (the first page; fallbacks are tried only on a 404)."""
    return get_source(unit.source, unit.provider).planned_urls(unit, ctx)


def is_complete(unit: Unit, ctx: SourceContext) -> bool:
    """Loaded, final and consistent with the schedule: a backfill skips it unless --force."""
    return get_source(unit.source, unit.provider).is_complete(unit, ctx)


def run_unit(unit: Unit, ctx: SourceContext) -> int:
    """Fetch, parse, cross-check and load one unit in one transaction; rows written.

    Raises DataNotAvailable (not published yet), SourceError (SiteBlocked, PageNotFound,
    SchemaDrift, ConsistencyError ...) or LoadError; nothing is written then.
    The unit's pages enter the raw archive only when it passed (``record_written``); when
    it fails they go to the quarantine, named in the error; pages of data not published
    yet are dropped.
    """
    source = get_source(unit.source, unit.provider)
    try:
        rows = source.run(unit, ctx)
    except DataNotAvailable:
        forget_clients(ctx)
        raise
    except NbaEltError as exc:
        _quarantine(ctx, exc, unit)
        raise
    except Exception as exc:  # noqa: BLE001 - a database error mid-unit is a LoadError
        error = exc
        if isinstance(exc, SQLAlchemyError):
            error = database_error(exc, f"{unit.source} {unit.unit_key}")
        if isinstance(error, NbaEltError):
            _quarantine(ctx, error, unit)
            raise error from exc
        settle_clients(ctx, False, f"{type(exc).__name__}: {exc}")
        raise
    settle_clients(ctx, True)
    return rows


def _quarantine(ctx: SourceContext, exc: NbaEltError, unit: Unit) -> None:
    """Keep the failed unit's pages apart; the error names where. A lost database says
    nothing about the pages: they are only dropped (fetched again on resume)."""
    if isinstance(exc, DatabaseLost):
        forget_clients(ctx)
        return
    name = f"{unit.source} {unit.unit_key}"
    reason = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
    location = settle_clients(ctx, False, reason)
    if location:
        exc.args = (f"{exc} (its page(s) are kept in the quarantine {location})",)
