"""The sources the backfill runs, unit by unit (docs/internals.md, "Sources").

A unit is one source x one date (schedule, boxscores) or one game (pbp). ``run_unit``
fetches its pages through the polite client, parses them, cross-checks them and writes
them in ONE transaction: on any error nothing of the unit is written.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine

from nba_elt.dates import today_eastern
from nba_elt.errors import (
    BadInput,
    ConsistencyError,
    DataNotAvailable,
    LoadError,
    NbaEltError,
    PageNotFound,
    SiteBlocked,
    SourceError,
)
from nba_elt.http import HttpClient
from nba_elt.load import replace_game_events, upsert
from nba_elt.sources import boxscores, pbp, schedule, scoreboard
from nba_elt.sources.html import GAME_ID, date_of_game

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("schedule", "boxscores", "pbp")
DATE_SOURCES = ("schedule", "boxscores")
FINAL_AFTER_DAYS = 2  # a page of a day this many days ago is final: never fetched twice


@dataclass(frozen=True)
class Unit:
    source: str
    unit_key: str  # "YYYY-MM-DD" (schedule, boxscores) or a game id (pbp)
    game_date: dt.date


@dataclass
class SourceContext:
    engine: Engine
    client: HttpClient
    # Called inside a unit's transaction, once its rows are written and before it commits,
    # with (connection, rows written): the backfill records the unit's outcome there, so the
    # ledger and the data commit together, even if the process dies right after.
    on_write: Callable[[Connection, int], None] | None = None


def _recorded(ctx: SourceContext, conn: Connection, rows: int) -> int:
    if ctx.on_write is not None:
        ctx.on_write(conn, rows)
    return rows


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise BadInput(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")


def check_game_id(game_id: str) -> str:
    game_id = game_id.strip()
    if not GAME_ID.match(game_id):
        raise BadInput(
            f"{game_id!r} is not a basketball-reference game id "
            "(YYYYMMDD0 + home team code, e.g. 201901010DEN)"
        )
    try:
        date_of_game(game_id)
    except ValueError:
        raise BadInput(f"{game_id!r} does not start with a real date") from None
    return game_id


def is_final_day(day: dt.date) -> bool:
    """Pages about this day no longer change (games finished, corrections made)."""
    return day <= today_eastern() - dt.timedelta(days=FINAL_AFTER_DAYS)


def final_since(day: dt.date) -> dt.date | bool:
    """For HttpClient.get(final=...): pages about ``day`` are final once it is old enough,
    and an archived copy counts only if fetched after the day ended."""
    return day + dt.timedelta(days=1) if is_final_day(day) else False


def _month_final_since(day: dt.date) -> dt.date | bool:
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return final_since(next_month - dt.timedelta(days=1))


# ---------------------------------------------------------------- planning


def _scheduled_games(conn: Connection, day: dt.date) -> pd.DataFrame:
    rows = conn.execute(
        sql(
            "select game_id, away_team, home_team, away_pts, home_pts, status "
            "from nba_source.schedule where game_date = :d order by game_id"
        ),
        {"d": day},
    ).fetchall()
    return pd.DataFrame(
        rows, columns=["game_id", "away_team", "home_team", "away_pts", "home_pts", "status"]
    )


def _games_from_site(day: dt.date, ctx: SourceContext) -> list[str]:
    """The day's game ids from the scoreboard page, else from the schedule's month page."""
    client = ctx.client
    path = scoreboard.scoreboard_path(day)
    try:
        html = scoreboard.fetch_scoreboard(client, day, final=final_since(day))
        board = scoreboard.parse_scoreboard(html, day, page=client.url_for(path))
        return board["game_id"].tolist()
    except SiteBlocked:
        raise
    except SourceError as exc:
        log.warning("%s unusable (%s); listing the games from the schedule page", path, exc)
    games = schedule.fetch_schedule_for_date(client, day, final=_month_final_since(day))
    return games.loc[games["status"] != "postponed", "game_id"].tolist()


def games_on(day: dt.date, ctx: SourceContext) -> list[str]:
    """Game ids of a day: from nba_source.schedule, else from the site (scoreboard page)."""
    with ctx.engine.connect() as conn:
        known = _scheduled_games(conn, day)
    if not known.empty:
        return known.loc[known["status"] != "postponed", "game_id"].tolist()
    return _games_from_site(day, ctx)


def units_for_dates(source: str, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these dates (pbp: one per game of each date)."""
    _check_source(source)
    days = sorted(set(dates))
    if source in DATE_SOURCES:
        return [Unit(source, day.isoformat(), day) for day in days]
    return [Unit("pbp", game_id, day) for day in days for game_id in games_on(day, ctx)]


def units_for_games(source: str, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
    """The units of ``source`` for these games (schedule/boxscores: their dates)."""
    _check_source(source)
    ids = list(dict.fromkeys(check_game_id(g) for g in game_ids))
    if source == "pbp":
        return [Unit("pbp", g, date_of_game(g)) for g in ids]
    days = sorted({date_of_game(g) for g in ids})
    return [Unit(source, day.isoformat(), day) for day in days]


def planned_urls(unit: Unit, ctx: SourceContext) -> list[str]:
    """What run_unit would fetch (the first page; fallbacks are tried only on a 404)."""
    _check_source(unit.source)
    client = ctx.client
    if unit.source == "schedule":
        from nba_elt.dates import season_of

        path = schedule.month_path(season_of(unit.game_date), schedule.month_name(unit.game_date))
    elif unit.source == "boxscores":
        path = boxscores.daily_path(unit.game_date)
    else:
        path = pbp.pbp_path(unit.unit_key)
    return [client.url_for(path)]


def is_complete(unit: Unit, ctx: SourceContext) -> bool:
    """Loaded, final and consistent with the schedule: a backfill skips it unless --force."""
    _check_source(unit.source)
    if not is_final_day(unit.game_date):
        return False
    with ctx.engine.connect() as conn:
        if unit.source == "schedule":
            games = _scheduled_games(conn, unit.game_date)
            return not games.empty and bool(games["status"].isin(["final", "postponed"]).all())
        if unit.source == "boxscores":
            games = _scheduled_games(conn, unit.game_date)
            loaded = {
                r[0]
                for r in conn.execute(
                    sql("select distinct game_id from nba_source.boxscores where game_date = :d"),
                    {"d": unit.game_date},
                )
            }
            finals = set(games.loc[games["status"] == "final", "game_id"])
            if not (loaded and finals <= loaded):
                return False
            # loaded but inconsistent (e.g. rows lost since): not complete, so a plain
            # backfill repairs it without --force
            return not conn.execute(_BOX_MISMATCHES, {"d": unit.game_date}).first()
        last = conn.execute(_LAST_PBP_EVENT, {"g": unit.unit_key}).first()
        if last is None:
            return False
        final = conn.execute(_FINAL_SCORE, {"g": unit.unit_key}).first()
        return final is None or (last.away_score, last.home_score) == (final[0], final[1])


# A final game of the date whose players' points per team differ from its final score.
_BOX_MISMATCHES = sql(
    """
    select s.game_id
    from nba_source.schedule as s
    where s.game_date = :d and s.status = 'final'
      and (
        coalesce((select sum(b.pts) from nba_source.boxscores as b
                  where b.game_id = s.game_id and b.team = s.home_team), -1)
            is distinct from s.home_pts
        or coalesce((select sum(b.pts) from nba_source.boxscores as b
                     where b.game_id = s.game_id and b.team = s.away_team), -1)
            is distinct from s.away_pts
      )
    limit 1
    """
)
_LAST_PBP_EVENT = sql(
    "select away_score, home_score from nba_source.pbp where game_id = :g "
    "order by event_idx desc limit 1"
)
_FINAL_SCORE = sql(
    "select away_pts, home_pts from nba_source.schedule where game_id = :g and status = 'final'"
)


# ---------------------------------------------------------------- running


def run_unit(unit: Unit, ctx: SourceContext) -> int:
    """Fetch, parse, cross-check and load one unit in one transaction; rows written.

    Raises DataNotAvailable (not published yet), SourceError (SiteBlocked, PageNotFound,
    SchemaDrift, ConsistencyError ...) or LoadError; nothing is written then.
    """
    _check_source(unit.source)
    runner = {"schedule": _run_schedule, "boxscores": _run_boxscores, "pbp": _run_pbp}
    try:
        return runner[unit.source](unit, ctx)
    except NbaEltError:
        raise
    except Exception as exc:  # noqa: BLE001 - a database error mid-unit is a LoadError
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            raise LoadError(f"{unit.source} {unit.unit_key}: database error: {exc}") from exc
        raise


def _run_schedule(unit: Unit, ctx: SourceContext) -> int:
    frame = schedule.fetch_schedule_for_date(
        ctx.client, unit.game_date, final=_month_final_since(unit.game_date)
    )
    if frame.empty:
        log.info("schedule %s: no games that day", unit.unit_key)
        return 0
    with ctx.engine.begin() as conn:
        return _recorded(ctx, conn, upsert(conn, "schedule", frame))


def _games_expected(day: dt.date, ctx: SourceContext, known: pd.DataFrame) -> list[str]:
    if not known.empty:
        return known.loc[known["status"] != "postponed", "game_id"].tolist()
    return _games_from_site(day, ctx)


def _run_boxscores(unit: Unit, ctx: SourceContext) -> int:
    day, client = unit.game_date, ctx.client
    try:
        path, html = boxscores.fetch_daily(client, day, final=final_since(day))
    except PageNotFound as exc:
        if not is_final_day(day):
            raise DataNotAvailable(f"boxscores {day}: the daily page is not published yet") from exc
        raise
    if not boxscores.has_stats_table(html, client.url_for(path)):
        html = client.refetch(path)  # an archived copy may predate publication
    with ctx.engine.connect() as conn:
        known = _scheduled_games(conn, day)
    if not boxscores.has_stats_table(html, client.url_for(path)):
        expected = _games_expected(day, ctx, known)
        if expected or day >= today_eastern():
            raise DataNotAvailable(
                f"boxscores {day}: {client.url_for(path)} has no player table yet although "
                f"{len(expected)} game(s) were scheduled; retry later"
            )
        log.info("boxscores %s: no games that day", day)
        return 0
    frame = boxscores.parse_boxscores(html, day, page=client.url_for(path))
    _check_box_against_schedule(unit, frame, known)
    with ctx.engine.begin() as conn:
        return _recorded(ctx, conn, upsert(conn, "boxscores", frame))


def _check_box_against_schedule(unit: Unit, frame: pd.DataFrame, known: pd.DataFrame) -> None:
    finals = known[known["status"] == "final"]
    missing = sorted(set(finals["game_id"]) - set(frame["game_id"]))
    if missing:
        raise DataNotAvailable(
            f"boxscores {unit.unit_key}: the daily page lacks final game(s) {', '.join(missing)} "
            "of the schedule; retry later"
        )
    sums = boxscores.team_points(frame)
    for game in finals.itertuples():
        for team, final_pts in ((game.away_team, game.away_pts), (game.home_team, game.home_pts)):
            players = sums.get((game.game_id, team))
            if players is None or int(players) != int(final_pts):
                raise ConsistencyError(
                    f"boxscores {unit.unit_key}: {team}'s players score {players} points in "
                    f"{game.game_id} but the schedule's final score is {final_pts}"
                )


def _run_pbp(unit: Unit, ctx: SourceContext) -> int:
    game_id = check_game_id(unit.unit_key)
    client = ctx.client
    recent = not is_final_day(unit.game_date)
    try:
        html = pbp.fetch_pbp(client, game_id, final=final_since(unit.game_date))
    except PageNotFound as exc:
        if recent:
            raise DataNotAvailable(
                f"pbp {game_id}: {client.url_for(pbp.pbp_path(game_id))} is not published "
                "yet; retry later"
            ) from exc
        raise
    frame = pbp.parse_pbp(html, game_id, page=client.url_for(pbp.pbp_path(game_id)))
    if recent and not str(frame["description"].iloc[-1]).startswith("End of"):
        raise DataNotAvailable(f"pbp {game_id}: the game is still being played; retry later")
    with ctx.engine.begin() as conn:
        row = conn.execute(
            sql(
                "select away_pts, home_pts from nba_source.schedule "
                "where game_id = :g and status = 'final'"
            ),
            {"g": game_id},
        ).first()
        if row is not None:
            last = pbp.final_score(frame)
            if last != (row[0], row[1]):
                raise ConsistencyError(
                    f"pbp {game_id}: the last score is {last[0]}-{last[1]} (away-home) but the "
                    f"schedule's final score is {row[0]}-{row[1]}"
                )
        return _recorded(ctx, conn, replace_game_events(conn, game_id, frame))


__all__ = [
    "SOURCES",
    "SourceContext",
    "Unit",
    "games_on",
    "is_complete",
    "planned_urls",
    "run_unit",
    "units_for_dates",
    "units_for_games",
]
