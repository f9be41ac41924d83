"""The public Python API (`import nba_elt`): data as DataFrames, steps as results.

Every function returns plain data (a DataFrame or a dataclass), never prints and never
exits; named errors (nba_elt.errors) say what went wrong. Each takes an optional
`settings` (default: from the environment, nba_elt.config.get_settings); nothing here
edits os.environ. The fetch functions use the same polite HTTP client, raw archive and
page checks as `invoke backfill`, and write nothing to the warehouse. docs/python-api.md
shows each one at work.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nba_elt.config import Settings, get_settings
from nba_elt.errors import BadInput, DataNotAvailable

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Connection

    from nba_elt.checks.verify import VerifyReport
    from nba_elt.extract.http import HttpClient
    from nba_elt.ingest.backfill import BackfillResult
    from nba_elt.ops.dashboard import RebootResult
    from nba_elt.pipelines.daily import DailyReport
    from nba_elt.transform.dbt import RefreshResult

MONTHS = tuple(name.lower() for name in calendar.month_name[1:])  # january .. december
_TABLE = re.compile(r"^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$")


def _client(settings: Settings | None, offline: bool) -> HttpClient:
    from nba_elt.extract.http import HttpClient

    return HttpClient(settings or get_settings(), offline=offline)


@contextmanager
def _proving(client: HttpClient) -> Iterator[None]:
    """The pages read inside are archived only if everything inside passed; otherwise they
    go to the quarantine (as a backfill unit's pages do)."""
    from nba_elt.errors import DataNotAvailable

    try:
        yield
    except DataNotAvailable:
        client.forget_pending()
        raise
    except Exception as exc:
        client.settle(False, f"{type(exc).__name__}: {exc}")
        raise
    client.settle(True)


def _day(value: str | dt.date | None, default: dt.date, flag: str = "date") -> dt.date:
    from nba_elt.dates import parse_date

    if value is None:
        return default
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    return parse_date(str(value), flag=flag)


# ---------------------------------------------------------------- fetch (no warehouse)


def get_schedule(
    season: int | None = None,
    month: str | int | None = None,
    *,
    offline: bool = False,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The games of a season (the year it ends; default the current one), or of one month.

    `month` is a name ("january") or a number (1); without it every month page of the
    season is read. Columns are those of nba_source.schedule.
    """
    from nba_elt.dates import season_of, today_eastern

    season = int(season) if season is not None else season_of(today_eastern())
    if not 1947 <= season <= season_of(today_eastern()) + 1:
        raise BadInput(f"season {season} is not an NBA season (the year it ends, 1947 ..)")
    client = _client(settings, offline)
    with _proving(client):
        return _read_schedule(client, season, month)


def _read_schedule(client: HttpClient, season: int, month: str | int | None) -> pd.DataFrame:
    import pandas as pd

    from nba_elt.errors import PageNotFound
    from nba_elt.sources.base import final_since
    from nba_elt.sources.schedule import (
        check_unit,
        month_links,
        month_path,
        parse_schedule,
        season_path,
    )

    if month is not None:
        paths = [month_path(season, _month_name(month))]
    else:
        try:
            index = client.get(season_path(season), final=_season_final(season))
        except PageNotFound:  # some mirrors lack the season page: a month page links them all
            index = client.get(month_path(season, "october"), final=_season_final(season))
        paths = month_links(index) or [month_path(season, "october")]
    frames = []
    for path in paths:
        last_day = _last_day_of(path, season)
        html = client.get(path, final=final_since(last_day) if last_day else False)
        frame = parse_schedule(html, season=season, page=client.url_for(path))
        check_unit(html, frame, page=client.url_for(path))
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame.drop_duplicates("game_id", keep="last").reset_index(drop=True)


def _month_name(month: str | int) -> str:
    if isinstance(month, int) or str(month).isdigit():
        number = int(month)
        if not 1 <= number <= 12:
            raise BadInput(f"month {month} is not 1..12")
        return MONTHS[number - 1]
    name = str(month).strip().lower()
    if name not in MONTHS:
        raise BadInput(f"month {month!r} is not a month name (january .. december)")
    return name


def _last_day_of(path: str, season: int) -> dt.date | None:
    """The last day a month page covers (its year: the season's, by the month's place)."""
    match = re.search(r"games-([a-z]+)(?:-(\d{4}))?\.html$", path)
    if not match or match.group(1) not in MONTHS:
        return None
    number = MONTHS.index(match.group(1)) + 1
    year = int(match.group(2)) if match.group(2) else (season - 1 if number >= 9 else season)
    return dt.date(year, number, calendar.monthrange(year, number)[1])


def _season_final(season: int) -> dt.date | bool:
    from nba_elt.sources.base import final_since

    return final_since(dt.date(season, 10, 31))


def get_boxscores(
    date: str | dt.date | None = None,
    *,
    offline: bool = False,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Every player's box score of a date (default yesterday, US Eastern), one row each.

    Read from the daily leaders page and checked against the schedule's final scores
    (each team's player points = its final score), as a backfill checks them. Columns are
    those of nba_source.boxscores (key: game_id, player_id). DataNotAvailable when the
    site has not published the date yet.
    """
    from nba_elt.dates import yesterday_eastern

    day = _day(date, yesterday_eastern())
    client = _client(settings, offline)
    with _proving(client):
        return _read_boxscores(client, day, offline)


def _read_boxscores(client: HttpClient, day: dt.date, offline: bool) -> pd.DataFrame:
    from nba_elt.extract.html import require_whole_page
    from nba_elt.sources.base import final_since, month_final_since
    from nba_elt.sources.boxscores import (
        check_against_schedule,
        fetch_daily,
        has_stats_table,
        parse_boxscores,
    )
    from nba_elt.sources.schedule import fetch_schedule_for_date

    path, html = fetch_daily(client, day, final=final_since(day))
    if not has_stats_table(html, client.url_for(path)) and not offline:
        html = client.refetch(path)  # an archived copy may predate publication
    schedule = fetch_schedule_for_date(client, day, final=month_final_since(day))
    if not has_stats_table(html, client.url_for(path)):
        if not schedule.empty:
            raise DataNotAvailable(
                f"boxscores {day}: {client.url_for(path)} has no player table yet although "
                f"{len(schedule)} game(s) were scheduled; retry later"
            )
        import pandas as pd

        from nba_elt.sources.boxscores import COLUMNS

        return pd.DataFrame(columns=COLUMNS)  # no game that day
    require_whole_page(html, client.url_for(path))
    frame = parse_boxscores(html, day, page=client.url_for(path))
    check_against_schedule(day.isoformat(), frame, schedule)
    return frame


def get_pbp(
    game_id: str | None = None,
    *,
    date: str | dt.date | None = None,
    offline: bool = False,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Every play-by-play event of a game, or of every game of a date.

    Give `game_id` ("201901010DEN") or `date` (its games are listed from the scoreboard
    page). Columns are those of nba_source.pbp (key: game_id, event_idx); `period` 5 and
    up are overtimes.
    """
    import pandas as pd

    from nba_elt.sources.base import SourceContext, check_game_id, final_since
    from nba_elt.sources.games import games_from_site
    from nba_elt.sources.pbp import (
        check_unit,
        fetch_pbp,
        game_date_of,
        page_facts,
        parse_pbp,
        pbp_path,
    )

    if (game_id is None) == (date is None):
        raise BadInput("give either game_id or date=")
    client = _client(settings, offline)
    if game_id is not None:
        games = [check_game_id(str(game_id))]
    else:
        from nba_elt.dates import today_eastern

        day = _day(date, today_eastern())
        games = games_from_site(day, SourceContext(None, client))  # type: ignore[arg-type]
    frames = []
    for game in games:
        with _proving(client):
            html = fetch_pbp(client, game, final=final_since(game_date_of(game)))
            page = client.url_for(pbp_path(game))
            frame = parse_pbp(html, game, page=page)
            check_unit(frame, page_facts(html, game, page=page))
        frames.append(frame)
    if not frames:
        from nba_elt.sources.pbp import COLUMNS

        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- write


def write_upsert(
    df: pd.DataFrame,
    table: str,
    *,
    primary_keys: list[str] | None = None,
    conn: Connection | None = None,
    settings: Settings | None = None,
) -> int:
    """Insert or update `df` into `table` by its key; the rows written.

    `table`: "boxscores" / "schedule" / "pbp" are nba_source's tables (keys from the
    contract, docs/architecture.md); "schema.table" any other table (`primary_keys` is
    then required unless the table has a primary key). COPY into a staging table, then
    one merge: all rows or none. The write is recorded in the backfill ledger
    (ops.backfill_units) in the same transaction, so the next `refresh()` rebuilds what
    the table feeds. With `conn`, it runs in the caller's transaction (commit is theirs).
    """
    from nba_elt.ingest import ledger
    from nba_elt.sources import SOURCES
    from nba_elt.warehouse.load import SCHEMA, upsert

    name = str(table).strip().lower()
    if not _TABLE.match(name):
        raise BadInput(f"table {table!r}: give a name like 'boxscores' or 'schema.table'")
    qualified = name if "." in name else f"{SCHEMA}.{name}"
    schema, _, bare = qualified.partition(".")
    source = bare if schema == SCHEMA and bare in SOURCES else qualified
    if df is None or len(df) == 0:
        return 0

    def write(c: Connection) -> int:
        rows = upsert(c, qualified, df, primary_keys=list(primary_keys or []) or None)
        args = {"write_upsert": qualified, "rows": rows, "primary_keys": primary_keys}
        ledger.record_external_write(c, source, qualified, rows, args)
        return rows

    if conn is not None:
        return write(conn)
    from nba_elt.warehouse.db import get_engine

    with get_engine(settings).begin() as own:
        return write(own)


# ---------------------------------------------------------------- pipeline steps


def backfill(
    date: str | dt.date | None = None,
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    games: str | list[str] | None = None,
    sources: str | list[str] | None = None,
    dry_run: bool = False,
    resume: int | None = None,
    offline: bool = False,
    force: bool = False,
    refresh: bool = False,
    predict: bool = False,
    yes: bool = False,
    provider: str | None = None,
    settings: Settings | None = None,
    progress: Any = None,
) -> BackfillResult:
    """Re-ingest sources for a date, a range or games into nba_source (`invoke backfill`).

    provider: "bbref", "nba" or "auto" (default: basketball-reference, then the NBA for
    what is left when it stops the run; docs/providers.md). games may be NBA game ids.

    Returns a BackfillResult: `.units` (source, unit_key, status, rows, error per unit),
    `.exit_code` (0 / 1 / 75), `.run_id`, `.message`, `.summary`; `.plan` for a dry run.
    """
    from nba_elt.ingest.backfill import run_backfill

    return run_backfill(
        date=date, start=start, end=end, games=games, sources=sources, dry_run=dry_run,
        resume=resume, offline=offline, force=force, refresh=refresh, predict=predict, yes=yes,
        provider=provider, settings=settings, progress=progress,
    )  # fmt: skip


def refresh(
    sources: str | list[str] | None = None,
    *,
    select: str | None = None,
    full: bool = False,
    run_date: str | dt.date | None = None,
    settings: Settings | None = None,
) -> RefreshResult:
    """dbt build of what changed since the last refresh (`invoke refresh`): a RefreshResult
    (`.ok`, `.dbt` with the models and tests, `.selection`, `.run_date`)."""
    from nba_elt.transform.dbt import refresh as run

    return run(sources=sources, select=select, full=full, run_date=run_date, settings=settings)


def predict(
    date: str | dt.date | None = None,
    *,
    model_path: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Predict a date's games (default today, US Eastern) into ml_models.ml_game_predictions;
    the predictions (game_id, home_team, away_team, home_win_prob, ...), empty without games."""
    from ml.app import run_predict

    return run_predict(date=date, model_path=model_path, settings=settings).predictions


def verify(
    date: str | dt.date | None = None,
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    run_date: str | dt.date | None = None,
    settings: Settings | None = None,
) -> VerifyReport:
    """Is the day complete and consistent, and are the games of `run_date` (default: today,
    US Eastern) all predicted? A VerifyReport (`.passed`, `.checks`, `.failed`)."""
    from nba_elt.checks.verify import verify as run

    return run(date=date, start=start, end=end, run_date=run_date, settings=settings)


def reboot_dashboard(
    mode: str = "force-deployment",
    *,
    cluster: str | None = None,
    service: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    timeout: float = 600,
    settings: Settings | None = None,
) -> RebootResult:
    """Restart the dashboard's ECS service (`invoke reboot-dashboard`): a RebootResult."""
    from nba_elt.ops.dashboard import reboot_dashboard as run

    return run(
        mode=mode, cluster=cluster, service=service, region=region, dry_run=dry_run,
        timeout=timeout, settings=settings,
    )  # fmt: skip


def daily(
    date: str | dt.date | None = None,
    *,
    no_reboot: bool = False,
    offline: bool = False,
    provider: str | None = None,
    settings: Settings | None = None,
    observer: Any = None,
) -> DailyReport:
    """The morning pipeline (`invoke daily`): a DailyReport with each step's result."""
    from nba_elt.pipelines.daily import daily as run

    return run(
        date=date, no_reboot=no_reboot, offline=offline, provider=provider, settings=settings,
        observer=observer,
    )  # fmt: skip
