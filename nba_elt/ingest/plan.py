"""The backfill plan: which units, in which order, and what they would fetch.

A unit is one source x one date (schedule, boxscores) or one game (pbp). Units run in
date order; within a date, schedule first (it tells which games exist), then boxscores,
then pbp. Reading the plan never writes anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.ingest.request import BackfillRequest

log = logging.getLogger(__name__)

DATE_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def source_order() -> tuple[str, ...]:
    from nba_elt.sources import SOURCES

    return tuple(SOURCES)


def unit_sort_key(unit: Any) -> tuple:
    order = source_order()
    rank = order.index(unit.source) if unit.source in order else len(order)
    return (unit.game_date or dt.date.min, rank, unit.unit_key)


def enabled_sources(engine: Engine) -> tuple[str, ...]:
    """The sources switched on in nba_source.feature_flags, in canonical order."""
    from nba_elt.warehouse.queries import enabled_flags

    enabled = enabled_flags(engine)
    return tuple(s for s in source_order() if s in enabled)


@dataclass
class Plan:
    """The units a backfill will run, plus what is known only later."""

    sources: tuple[str, ...]
    units: list[Any]
    dates: tuple[dt.date, ...] = ()
    game_ids: tuple[str, ...] = ()
    # Dates whose pbp games are not known yet (the schedule for that day is not loaded):
    # they are discovered after the day's schedule unit has run.
    pending_discovery: tuple[dt.date, ...] = ()
    # Dates for which neither nba_source.schedule nor the site lists any game: no pbp units.
    days_without_games: tuple[dt.date, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def discover_pbp(self) -> bool:
        return bool(self.dates) and "pbp" in self.sources


def days_with_schedule(engine: Engine, dates: Iterable[dt.date]) -> set[dt.date]:
    """The dates that have at least one game in nba_source.schedule."""
    days = sorted(set(dates))
    if not days:
        return set()
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    "select distinct game_date from nba_source.schedule "
                    "where game_date = any(:days)"
                ),
                {"days": days},
            ).scalars()
        )


def build_plan(
    request: BackfillRequest, sources: tuple[str, ...], ctx: Any, *, schema_ready: bool = True
) -> Plan:
    """The units for a new (not resumed) backfill, in run order.

    pbp by date needs the day's games. When the schedule is loaded they come from
    nba_source.schedule; when it is not and the schedule source is part of the run, they
    are discovered after that day's schedule unit (no page is fetched to plan); otherwise
    `units_for_dates` reads the day's scoreboard page.
    """
    from nba_elt.errors import NbaEltError
    from nba_elt.sources import units_for_dates, units_for_games

    units: list[Any] = []
    pending: list[dt.date] = []
    no_games: list[dt.date] = []
    notes: list[str] = []
    if request.game_ids:
        for source in sources:
            units += units_for_games(source, list(request.game_ids), ctx)
    else:
        for source in sources:
            if source != "pbp":
                units += units_for_dates(source, list(request.dates), ctx)
                continue
            known = days_with_schedule(ctx.engine, request.dates) if schema_ready else set()
            for day in request.dates:
                if day not in known and ("schedule" in sources or not schema_ready):
                    pending.append(day)
                    continue
                try:
                    found = units_for_dates("pbp", [day], ctx)
                    if not found:
                        no_games.append(day)
                    units += found
                except NbaEltError as exc:
                    if exc.terminal:
                        raise
                    if request.dry_run:
                        pending.append(day)
                        notes.append(f"pbp games of {day} unknown: {exc}")
                        continue
                    # Listing the day's games failed: a listing unit retries it in the run
                    # (and in a resume), and the ledger records why if it fails again.
                    log.warning("could not list the pbp games of %s yet: %s", day, exc)
                    units.append(listing_unit(day))
    units = dedupe(units)
    units.sort(key=unit_sort_key)
    plan = Plan(
        sources=sources,
        units=units,
        dates=request.dates,
        game_ids=request.game_ids,
        pending_discovery=tuple(pending),
        days_without_games=tuple(no_games),
        notes=notes,
    )
    if no_games:
        plan.notes.append(
            f"pbp: no games found on {', '.join(map(str, no_games))} "
            "(neither nba_source.schedule nor the site lists any)"
        )
    if not schema_ready:
        plan.notes.append(
            "the warehouse has no nba_source/ops tables yet (the first real backfill creates "
            "them): nothing counts as complete, and pbp games are known once the schedule is in"
        )
    elif pending and "schedule" in sources:
        plan.notes.append(
            f"the pbp games of {len(pending)} day(s) are not in nba_source.schedule yet; "
            "they are planned once that day's schedule unit has run"
        )
    return plan


def listing_unit(day: dt.date) -> Any:
    """A pbp unit keyed by a date: "list that day's games", then run one unit per game."""
    from nba_elt.sources import Unit

    return Unit("pbp", day.isoformat(), day)


def is_listing(unit: Any) -> bool:
    return unit.source == "pbp" and bool(DATE_KEY.match(unit.unit_key))


def dedupe(units: Iterable[Any]) -> list[Any]:
    seen: set[tuple[str, str]] = set()
    out = []
    for unit in units:
        key = (unit.source, unit.unit_key)
        if key not in seen:
            seen.add(key)
            out.append(unit)
    return out


def site_path(url: str) -> str:
    """A planned URL as the archive keys it: path + query, without the host."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def describe_plan(
    plan: Plan, ctx: Any, *, force: bool, refresh: bool, schema_ready: bool = True
) -> dict[str, Any]:
    """What a dry-run prints: units, pages, what the archive already holds, dbt selection."""
    from nba_elt.sources import is_complete, planned_urls

    rows = []
    pages: list[str] = []
    for unit in plan.units:
        urls = planned_urls(unit, ctx)
        complete = schema_ready and is_complete(unit, ctx)
        in_archive = sum(1 for url in urls if ctx.client.in_archive(site_path(url)))
        rows.append(
            {
                "source": unit.source,
                "unit_key": unit.unit_key,
                "game_date": unit.game_date.isoformat() if unit.game_date else None,
                "pages": urls,
                "pages_in_archive": in_archive,
                "action": "run" if (force or not complete) else "skip (complete and final)",
            }
        )
        if rows[-1]["action"] == "run":
            pages += [u for u in urls if u not in pages]
    archived = sum(1 for url in pages if ctx.client.in_archive(site_path(url)))
    selection, selection_note = dbt_selection(plan.sources)
    return {
        "dates": [d.isoformat() for d in plan.dates],
        "games": list(plan.game_ids)
        or sorted({u.unit_key for u in plan.units if u.source == "pbp"}),
        "sources": list(plan.sources),
        "units": rows,
        "unit_count": len(rows),
        "to_run": sum(1 for r in rows if r["action"] == "run"),
        "pages": pages,
        "page_count": len(pages),
        "pages_in_archive": archived,
        "dbt_selection": selection,
        "dbt_selection_note": selection_note,
        "refresh": refresh,
        "notes": list(plan.notes),
    }


def dbt_selection(sources: Iterable[str]) -> tuple[str | None, str]:
    """The dbt selection a --refresh would build, or why it is unknown."""
    try:
        from nba_elt.transform.dbt import selection_for_sources
    except ImportError:
        return None, "nba_elt.transform.dbt is not installed in this checkout"
    return selection_for_sources(list(sources)), ""
