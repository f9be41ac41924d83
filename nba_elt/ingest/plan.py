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

from nba_elt.dates import season_of
from nba_elt.errors import NbaEltError
from nba_elt.ingest.request import BackfillRequest
from nba_elt.sources import SOURCES, is_complete, planned_urls, units_for_dates, units_for_games
from nba_elt.sources.base import SourceContext, Unit
from nba_elt.sources.games import games_on
from nba_elt.sources.schedule import month_name, month_path
from nba_elt.sources.scoreboard import scoreboard_path

log = logging.getLogger(__name__)

DATE_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def unit_sort_key(unit: Unit) -> tuple:
    rank = SOURCES.index(unit.source) if unit.source in SOURCES else len(SOURCES)
    return (unit.game_date or dt.date.min, rank, unit.unit_key)


def enabled_sources(engine: Engine) -> tuple[str, ...]:
    """The sources switched on in nba_source.feature_flags, in canonical order."""
    from nba_elt.warehouse.queries import enabled_flags

    enabled = enabled_flags(engine)
    return tuple(s for s in SOURCES if s in enabled)


@dataclass
class Plan:
    """The units a backfill will run, plus what is known only later."""

    sources: tuple[str, ...]
    units: list[Unit]
    dates: tuple[dt.date, ...] = ()
    game_ids: tuple[str, ...] = ()
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
    request: BackfillRequest,
    sources: tuple[str, ...],
    ctx: SourceContext,
    *,
    schema_ready: bool = True,
) -> Plan:
    """The units for a new (not resumed) backfill, in run order.

    pbp by date needs the day's games. When the schedule is loaded they come from
    nba_source.schedule; when it is not and the schedule source is part of the run, they
    are discovered after that day's schedule unit (no page is fetched to plan); otherwise
    `units_for_dates` reads the day's scoreboard page.
    """
    units: list[Unit] = []
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
                    if request.dry_run:  # shown as the listing it is: games, then pages
                        units.append(listing_unit(day))
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
                        units.append(listing_unit(day))
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


def listing_unit(day: dt.date) -> Unit:
    """A pbp unit keyed by a date: "list that day's games", then run one unit per game."""
    return Unit("pbp", day.isoformat(), day)


def is_listing(unit: Unit) -> bool:
    return unit.source == "pbp" and bool(DATE_KEY.match(unit.unit_key))


def dedupe(units: Iterable[Unit]) -> list[Unit]:
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


def listing_pages(unit: Unit, ctx: SourceContext, sources: Iterable[str]) -> list[str]:
    """What listing a day's pbp games may fetch: nothing when the run's own schedule unit
    provides them (nba_source.schedule), else the scoreboard page, then the month page."""
    day = unit.game_date
    if "schedule" in sources:
        return []
    return [
        ctx.client.url_for(scoreboard_path(day)),
        ctx.client.url_for(month_path(season_of(day), month_name(day))),
    ]


def games_known_offline(day: dt.date, ctx: SourceContext) -> list[str] | None:
    """The day's game ids from nba_source.schedule or the archived pages; None if unknown."""
    try:
        return games_on(day, ctx)
    except NbaEltError as exc:
        log.debug("games of %s not known without the network: %s", day, exc)
        return None


def _with_listed_games(
    plan: Plan, ctx: SourceContext, schema_ready: bool
) -> tuple[list[Unit], list[str]]:
    """The plan's units, each listing unit followed by the pbp units of the games it would
    find (as far as the database and the archive tell without the network)."""
    units: list[Unit] = []
    notes: list[str] = []
    planned = {(u.source, u.unit_key) for u in plan.units}
    for unit in plan.units:
        units.append(unit)
        if not is_listing(unit):
            continue
        games = games_known_offline(unit.game_date, ctx) if schema_ready else None
        if games is None:
            notes.append(
                f"pbp games of {unit.game_date}: known only when the run lists them "
                "(then one page per game more)"
            )
            continue
        units += [Unit("pbp", g, unit.game_date) for g in games if ("pbp", g) not in planned]
    return units, notes


def describe_plan(
    plan: Plan, ctx: SourceContext, *, force: bool, refresh: bool, schema_ready: bool = True
) -> dict[str, Any]:
    """What a dry-run prints: every unit (listing units and the games they would find
    included), every page it may fetch and whether the archive holds it, the dbt selection."""
    rows = []
    pages: list[str] = []
    units, listing_notes = _with_listed_games(plan, ctx, schema_ready)
    for unit in units:
        listing = is_listing(unit)
        urls = listing_pages(unit, ctx, plan.sources) if listing else planned_urls(unit, ctx)
        complete = not listing and schema_ready and is_complete(unit, ctx)
        archived = [url for url in urls if ctx.client.in_archive(site_path(url))]
        if listing:
            action = "list the day's games" + (
                " (from its schedule unit)" if not urls else " (first page that answers)"
            )
        else:
            action = "run" if (force or not complete) else "skip (complete and final)"
        rows.append(
            {
                "source": unit.source,
                "unit_key": unit.unit_key,
                "game_date": unit.game_date.isoformat() if unit.game_date else None,
                "pages": urls,
                "pages_in_archive": len(archived),
                "archived": archived,
                "action": action,
            }
        )
        if action != "skip (complete and final)":
            pages += [u for u in urls if u not in pages]
    archived_pages = [url for url in pages if ctx.client.in_archive(site_path(url))]
    selection, selection_note = dbt_selection(plan.sources)
    to_run = sum(1 for r in rows if not r["action"].startswith("skip"))
    return {
        "dates": [d.isoformat() for d in plan.dates],
        "games": list(plan.game_ids)
        or sorted({u.unit_key for u in units if u.source == "pbp" and not is_listing(u)}),
        "sources": list(plan.sources),
        "units": rows,
        "unit_count": len(rows),
        "to_run": to_run,
        "pages": pages,
        "page_count": len(pages),
        "pages_in_archive": len(archived_pages),
        "archived_pages": archived_pages,
        "dbt_selection": selection,
        "dbt_selection_note": selection_note,
        "refresh": refresh,
        "notes": list(plan.notes) + listing_notes,
    }


def dbt_selection(sources: Iterable[str]) -> tuple[str | None, str]:
    """The dbt selection a --refresh would build, or why it is unknown."""
    try:
        from nba_elt.transform.selection import selection_for_sources
    except ImportError:
        return None, "nba_elt.transform is not installed in this checkout"
    return selection_for_sources(list(sources)), ""
