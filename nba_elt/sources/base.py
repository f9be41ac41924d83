"""What every source shares: the unit of work, its context, the Source protocol.

A unit is one source x one date (schedule, boxscores) or one game (pbp). A Source turns
dates or games into units, says what a unit would fetch and whether it is already complete,
and runs it: fetch, parse, cross-check and write in ONE transaction, so that on any error
nothing of the unit is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine

from nba_elt import teams
from nba_elt.dates import today_eastern
from nba_elt.errors import BadInput, SchemaDrift
from nba_elt.extract.html import GAME_ID, date_of_game
from nba_elt.extract.http import HttpClient

FINAL_AFTER_DAYS = 2  # a page of a day this many days ago is final: never fetched twice
PROVIDERS = ("bbref", "nba")  # basketball-reference; the NBA's own JSON (docs/providers.md)
DEFAULT_PROVIDER = "bbref"


@dataclass(frozen=True)
class Unit:
    source: str
    unit_key: str  # "YYYY-MM-DD" (schedule, boxscores) or a game id (pbp; NBA boxscores)
    game_date: dt.date
    provider: str = DEFAULT_PROVIDER  # who serves the unit: its rows come from it alone


@dataclass(frozen=True)
class ParsedPage:
    """What a parsing worker hands back: the rows, and the same rows as COPY's CSV."""

    frame: pd.DataFrame
    rows_csv: bytes


@dataclass(frozen=True)
class SourceContext:
    """What a unit runs with. Never changed: a different provider or ledger hook is a new
    context (dataclasses.replace). ``clients`` is the run's shared cache, filled on first
    use: the other hosts' clients (sources/nba/hosts.py), the NBA's game logs read."""

    engine: Engine
    client: HttpClient
    # Called inside a unit's transaction, once its rows are written and before it commits,
    # with (connection, rows written): the backfill records the unit's outcome there, so the
    # ledger and the data commit together, even if the process dies right after.
    on_write: Callable[[Connection, int], None] | None = None
    # The provider new units are planned with (bbref or nba); a unit runs with its own.
    provider: str = DEFAULT_PROVIDER
    clients: dict[str, Any] = field(default_factory=dict)
    # Set by the backfill when it parses pages in worker processes: what the source's
    # parse gave for the unit (the worker's exception is raised), None when the unit was
    # not handed to a worker (nba_elt.ingest.parallel).
    parsed_ahead: Callable[[Unit], ParsedPage | None] | None = None


class Source(Protocol):
    """One dataset the backfill loads into nba_source, unit by unit."""

    name: str
    provider: str  # "bbref" or "nba"

    def units_for_dates(self, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
        """The units covering these dates (sorted, without duplicates)."""
        ...

    def units_for_games(self, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
        """The units covering these (already checked) game ids."""
        ...

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        """What ``run`` would fetch first (fallbacks are tried only when that fails)."""
        ...

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        """Loaded, final and consistent: a backfill skips it unless --force."""
        ...

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        """Fetch, parse, cross-check and write the unit in one transaction; rows written.

        Raises DataNotAvailable (not published yet), SourceError (SiteBlocked,
        PageNotFound, SchemaDrift, ConsistencyError ...) or LoadError; nothing is written then.
        """
        ...


def http_clients(ctx: SourceContext) -> list[HttpClient]:
    """The unit's clients: the site's and any other host's made on the way (the NBA's)."""
    return [ctx.client, *(c for c in ctx.clients.values() if isinstance(c, HttpClient))]


def settle_clients(ctx: SourceContext, passed: bool, reason: str = "") -> str | None:
    """``HttpClient.settle`` on every client of the unit; the quarantine used, if any."""
    locations = [client.settle(passed, reason) for client in http_clients(ctx)]
    return next((where for where in locations if where), None)


def forget_clients(ctx: SourceContext) -> None:
    for client in http_clients(ctx):
        client.forget_pending()


def record_written(ctx: SourceContext, conn: Connection, rows: int) -> int:
    """The unit passed its checks and its rows are written, not committed yet: archive its
    pages (an archive failure rolls the unit back) and hand the row count to the
    backfill's ledger, inside the unit's transaction."""
    settle_clients(ctx, True)
    if ctx.on_write is not None:
        ctx.on_write(conn, rows)
    return rows


class DateKeyedSource:
    """The units of a source whose unit is one date (schedule, boxscores): the dates asked
    for, or the dates of the games asked for. Subclasses set ``name`` and ``provider``."""

    name: str
    provider: str = DEFAULT_PROVIDER

    def units_for_dates(self, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
        return [Unit(self.name, day.isoformat(), day, self.provider) for day in sorted(set(dates))]

    def units_for_games(self, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
        return self.units_for_dates((date_of_game(g) for g in game_ids), ctx)


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
    try:
        teams.nba_code(game_id[-3:])
    except SchemaDrift:
        raise BadInput(
            f"{game_id!r} ends with unknown team code {game_id[-3:]!r} "
            "(the home team's basketball-reference code, e.g. DEN, BRK, PHO)"
        ) from None
    return game_id


def is_final_day(day: dt.date) -> bool:
    """Pages about this day no longer change (games finished, corrections made)."""
    return day <= today_eastern() - dt.timedelta(days=FINAL_AFTER_DAYS)


def final_since(day: dt.date) -> dt.date | bool:
    """For HttpClient.get(final=...): pages about ``day`` are final once it is old enough,
    and an archived copy counts only if fetched after the day ended."""
    return day + dt.timedelta(days=1) if is_final_day(day) else False


def month_final_since(day: dt.date) -> dt.date | bool:
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return final_since(next_month - dt.timedelta(days=1))


_SCHEDULED = ["game_id", "nba_game_id", "away_team", "home_team", "away_pts", "home_pts", "status"]


def scheduled_games(conn: Connection, day: dt.date) -> pd.DataFrame:
    """The day's games as nba_source.schedule holds them (empty when not loaded)."""
    rows = conn.execute(
        sql(
            f"select {', '.join(_SCHEDULED)} from nba_source.schedule where game_date = :d "
            "order by game_id"
        ),
        {"d": day},
    ).fetchall()
    return pd.DataFrame(rows, columns=_SCHEDULED)


def playable(games: pd.DataFrame) -> list[str]:
    """Game ids of a schedule frame, postponed games left out."""
    return games.loc[games["status"] != "postponed", "game_id"].tolist()
