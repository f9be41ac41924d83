"""`invoke gaps`: final games whose box scores or play-by-play are missing.

For every game nba_source.schedule marks final in the season (or date range): are its
boxscores rows and its pbp rows loaded? A day where no final game has either is missing
entirely. `--fix` runs the backfill for exactly the missing units: the boxscores unit of
each day with a game lacking box scores, the pbp unit of each game lacking events.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from nba_elt.config import Settings, get_settings
from nba_elt.dates import FIRST_SEASON, resolve_dates, season_of, today_eastern
from nba_elt.errors import EXIT_FAILED, EXIT_OK, BadInput
from nba_elt.ingest.runner import RunReport
from nba_elt.results import Result

log = logging.getLogger(__name__)

CHECKED_SOURCES = ("boxscores", "pbp")


@dataclass
class DayGaps:
    day: dt.date
    games: int = 0
    missing_boxscores: list[str] = field(default_factory=list)
    missing_pbp: list[str] = field(default_factory=list)
    games_with_data: int = 0  # games with rows in at least one checked source

    @property
    def missing_entirely(self) -> bool:
        """No final game of the day has any of the checked sources loaded."""
        return self.games > 0 and self.games_with_data == 0

    @property
    def has_gaps(self) -> bool:
        return bool(self.missing_boxscores or self.missing_pbp)


@dataclass
class GapReport:
    scope: str
    checked: tuple[str, ...]
    final_games: int
    days: list[DayGaps]

    @property
    def gap_days(self) -> list[DayGaps]:
        return [d for d in self.days if d.has_gaps]

    def missing_units(self) -> list[tuple[str, str, dt.date]]:
        """(source, unit_key, day): boxscores per day, pbp per game."""
        units = []
        for day in self.gap_days:
            if day.missing_boxscores:
                units.append(("boxscores", day.day.isoformat(), day.day))
            units += [("pbp", game_id, day.day) for game_id in day.missing_pbp]
        return units

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "checked_sources": list(self.checked),
            "final_games": self.final_games,
            "days_with_gaps": len(self.gap_days),
            "days_missing_entirely": [d.day.isoformat() for d in self.days if d.missing_entirely],
            "missing_boxscores": [g for d in self.days for g in d.missing_boxscores],
            "missing_pbp": [g for d in self.days for g in d.missing_pbp],
            "missing_units": [{"source": s, "unit_key": k} for s, k, _ in self.missing_units()],
        }


def find_gaps(
    engine: Engine,
    *,
    season: int | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    sources: tuple[str, ...] = CHECKED_SOURCES,
    scope: str = "",
) -> GapReport:
    """Scan the final games of nba_source.schedule in the scope."""
    where = "s.status = 'final'"
    params: dict[str, Any] = {}
    if season is not None:
        where += " and s.season = :season"
        params["season"] = season
    if first is not None:
        where += " and s.game_date between :first and :last"
        params |= {"first": first, "last": last}
    sql = f"""
        select s.game_id, s.game_date,
               exists (select 1 from nba_source.boxscores b where b.game_id = s.game_id) as has_box,
               exists (select 1 from nba_source.pbp p where p.game_id = s.game_id) as has_pbp
        from nba_source.schedule s
        where {where}
        order by s.game_date, s.game_id
    """
    days: dict[dt.date, DayGaps] = {}
    with engine.connect() as conn:
        for game_id, game_date, has_box, has_pbp in conn.execute(text(sql), params):
            day = days.setdefault(game_date, DayGaps(game_date))
            day.games += 1
            if ("boxscores" in sources and has_box) or ("pbp" in sources and has_pbp):
                day.games_with_data += 1
            if "boxscores" in sources and not has_box:
                day.missing_boxscores.append(game_id)
            if "pbp" in sources and not has_pbp:
                day.missing_pbp.append(game_id)
    return GapReport(
        scope=scope,
        checked=sources,
        final_games=sum(d.games for d in days.values()),
        days=sorted(days.values(), key=lambda d: d.day),
    )


def _fix(
    engine: Engine,
    report: GapReport,
    offline: bool,
    settings: Settings,
    progress: Any,
    provider: str = "auto",
) -> RunReport:
    """Backfill exactly the missing units (forced: they are known to be missing).

    provider as for the backfill: the NBA serves box scores game by game, so with
    ``nba`` only the games missing them are fetched.
    """
    from contextlib import AbstractContextManager, nullcontext

    from nba_elt.extract.http import HttpClient
    from nba_elt.ingest.plan import Plan, unit_sort_key
    from nba_elt.ingest.runner import BackfillRunner
    from nba_elt.sources import SourceContext, units_for_dates, units_for_games

    planned_with = "nba" if provider == "nba" else "bbref"
    ctx = SourceContext(engine, HttpClient(settings, offline=offline), provider=planned_with)
    missing = report.missing_units()
    box_days = sorted({day for source, _, day in missing if source == "boxscores"})
    pbp_games = [key for source, key, _ in missing if source == "pbp"]
    units = []
    if box_days and planned_with == "nba":
        box_games = [g for d in report.days for g in d.missing_boxscores]
        units += units_for_games("boxscores", box_games, ctx)
    elif box_days:
        units += units_for_dates("boxscores", box_days, ctx)
    if pbp_games:
        units += units_for_games("pbp", pbp_games, ctx)
    plan = Plan(sources=report.checked, units=sorted(units, key=unit_sort_key))
    args = {
        "gaps_fix": report.scope,
        "dates": [d.isoformat() for d in box_days],
        "games": pbp_games,
        "sources": list(report.checked),
        "offline": offline,
        "force": True,
        "provider": provider,
    }
    runner = BackfillRunner(
        engine, ctx, force=True, lock_wait=settings.backfill_lock_wait,
        fallback=provider == "auto",
    )  # fmt: skip
    with progress if isinstance(progress, AbstractContextManager) else nullcontext():
        runner.progress = progress or runner.progress
        return runner.run(plan, args)


def _schedule_first(season: int | None, first: dt.date | None, last: dt.date | None) -> str:
    """The backfill that loads the schedule of the scope (a season: August 1 to July 31, the
    cut-over of season_of), up to today."""
    if season:
        first, last = dt.date(season - 1, 8, 1), dt.date(season, 7, 31)
    assert first is not None and last is not None
    last = min(last, today_eastern())
    if last < first:
        return "its schedule cannot be loaded before it starts"
    return f"backfill the schedule first: invoke backfill --sources schedule --start {first} --end {last} --yes"


@dataclass
class GapsResult(Result):
    """The gaps found (`report`); with fix, the backfill run that filled them (`fix`)."""

    report: GapReport | None = None
    fix: RunReport | None = None


@dataclass(frozen=True)
class GapsRequest:
    """A validated gaps scan: the scope (a season, or first..last, and its label); with
    `fix`, backfill the missing units (`offline`, `provider` as for a backfill)."""

    scope: str
    season: int | None = None
    first: dt.date | None = None
    last: dt.date | None = None
    fix: bool = False
    offline: bool = False
    provider: str = "auto"

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, season: Any = None,
        start: str | dt.date | None = None, end: str | dt.date | None = None, fix: bool = False,
        offline: bool = False, provider: str | None = None,
    ) -> GapsRequest:  # fmt: skip
        """`invoke gaps`'s flags (default: the current season); BadInput (exit 2)."""
        from nba_elt.ingest.request import parse_provider

        options = (bool(fix), bool(offline), parse_provider(provider))
        if season not in (None, "") and (start or end):
            raise BadInput("give either --season or --start/--end, not both")
        if start or end:
            dates = resolve_dates(None, *(v and str(v) for v in (start, end)), allow_future=True)
            return cls(f"{dates[0]} .. {dates[-1]}", None, dates[0], dates[-1], *options)
        try:
            value = season_of(today_eastern()) if season in (None, "") else int(str(season))
        except ValueError:
            raise BadInput(
                f"--season is the year a season ends (2024-25 -> 2025), got {season!r}"
            ) from None
        if not FIRST_SEASON <= value <= season_of(today_eastern()) + 1:
            raise BadInput(f"--season {value} is not an NBA season ({FIRST_SEASON} .. next season)")
        return cls(f"season {value}", value, None, None, *options)


def gaps(
    request: GapsRequest, *, settings: Settings | None = None, progress: Any = None
) -> GapsResult:
    """List final games missing box scores or pbp; with fix, backfill exactly those units."""
    from nba_elt.warehouse.db import get_engine
    from nba_elt.warehouse.queries import enabled_flags

    scope, season_value, first, last = request.scope, request.season, request.first, request.last
    settings = settings or get_settings()
    engine = get_engine(settings)
    enabled = enabled_flags(engine)
    sources = tuple(s for s in CHECKED_SOURCES if s in enabled)
    if not sources:
        raise BadInput(
            "neither boxscores nor pbp is enabled in nba_source.feature_flags: nothing to check"
        )
    scan = functools.partial(
        find_gaps, engine, season=season_value, first=first, last=last, sources=sources, scope=scope
    )
    report = scan()
    summary: dict[str, Any] = report.as_dict()
    missing = report.missing_units()
    if not missing:  # no final game at all, or every one complete
        if report.final_games == 0:
            message = (
                f"no final games in nba_source.schedule for {scope}: nothing to check "
                f"({_schedule_first(season_value, first, last)})"
            )
        else:
            message = f"{scope}: all {report.final_games} final games are complete"
        return GapsResult(EXIT_OK, message, summary, report=report)
    entire = sum(1 for d in report.days if d.missing_entirely)
    found = (
        f"{scope}: {len(summary['missing_boxscores'])} game(s) without boxscores, "
        f"{len(summary['missing_pbp'])} without pbp, {entire} day(s) missing entirely "
        f"-> {len(missing)} unit(s)"
    )
    if not request.fix:
        selector = f"--season {season_value}" if season_value else f"--start {first} --end {last}"
        return GapsResult(
            EXIT_FAILED,
            f"{found}. Backfill them with: invoke gaps {selector} --fix",
            summary,
            report=report,
        )
    run = _fix(engine, report, request.offline, settings, progress, request.provider)
    after = scan()
    summary["fix"] = {
        "run_id": run.run_id,
        "counts": run.counts(),
        "exit_code": run.exit_code,
        "units": [o.as_dict() for o in run.outcomes],
    }
    summary["remaining_units"] = len(after.missing_units())
    message = (
        f"{found}; fixed by backfill run {run.run_id}: {run.counts_text()}; "
        f"{len(after.missing_units())} unit(s) still missing"
    )
    if run.exit_code != EXIT_OK:
        message += f". Resume with: {run.resume_command}"
    return GapsResult(run.exit_code, message, summary, report=report, fix=run)
