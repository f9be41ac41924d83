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

    from ml.app import PredictRequest, PredictResult
    from ml.registry import ModelArtifact, ModelInfo
    from ml.train import TrainRequest, TrainResult
    from nba_elt.checks.cross_provider import CrossProviderReport
    from nba_elt.checks.gaps import GapsRequest, GapsResult
    from nba_elt.checks.verify import VerifyReport, VerifyRequest
    from nba_elt.extract.http import HttpClient
    from nba_elt.ingest.backfill import BackfillResult
    from nba_elt.ingest.request import BackfillRequest
    from nba_elt.ops.dashboard import RebootRequest, RebootResult
    from nba_elt.pipelines.daily import DailyReport, DailyRequest
    from nba_elt.pipelines.demo import DemoResult
    from nba_elt.transform.dbt import RefreshRequest, RefreshResult
    from nba_elt.warehouse.flags import Flag

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


def _request(
    kind: type, given: Any, first: str, settings: Settings | None, flags: dict[str, Any]
) -> Any:
    """The operation's request: `given` when it is one already, else kind.from_flags (the
    task's flags, validated once: BadInput before anything runs); a `given` that is not a
    request is the value of the `first` flag."""
    if isinstance(given, kind):
        if flags:
            raise TypeError(f"give a request or flags, not both: {', '.join(flags)}")
        return given
    if given is not None:
        flags[first] = given
    return kind.from_flags(settings, **flags)


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
    from nba_elt.dates import FIRST_SEASON, season_of, today_eastern

    season = int(season) if season is not None else season_of(today_eastern())
    if not FIRST_SEASON <= season <= season_of(today_eastern()) + 1:
        raise BadInput(
            f"season {season} is not an NBA season (the year it ends, {FIRST_SEASON} ..)"
        )
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
    request: BackfillRequest | str | dt.date | None = None,
    *,
    settings: Settings | None = None,
    progress: Any = None,
    **flags: Any,
) -> BackfillResult:
    """Re-ingest sources for a date, a range or games into nba_source (`invoke backfill`).

    `request`: a BackfillRequest, or the date; `flags` are `invoke backfill`'s flags as
    keywords (games and sources may be lists; games may be NBA game ids; provider "bbref",
    "nba" or "auto", docs/providers.md), validated by BackfillRequest.from_flags.

    Returns a BackfillResult: `.units` (source, unit_key, status, rows, error per unit),
    `.exit_code` (0 / 1 / 75), `.run_id`, `.message`, `.summary`; `.plan` for a dry run.
    """
    from nba_elt.ingest.request import BackfillRequest
    from nba_elt.pipelines.steps import backfill as run

    request = _request(BackfillRequest, request, "date", settings, flags)
    return run(request, settings=settings, progress=progress)


def refresh(
    request: RefreshRequest | str | list[str] | None = None,
    *,
    in_process: bool = False,
    settings: Settings | None = None,
    **flags: Any,
) -> RefreshResult:
    """dbt build of what changed since the last refresh (`invoke refresh`): a RefreshResult
    (`.ok`, `.dbt` with the models and tests, `.selection`, `.run_date`). dbt runs in a new
    process; `in_process=True` runs it in this interpreter, one build at a time.

    `request`: a RefreshRequest, or the sources; `flags`: sources, select, full, run_date."""
    from nba_elt.transform.dbt import RefreshRequest
    from nba_elt.transform.dbt import refresh as run

    request = _request(RefreshRequest, request, "sources", settings, flags)
    return run(request, in_process=in_process, settings=settings)


def predict(
    request: PredictRequest | str | dt.date | None = None,
    *,
    settings: Settings | None = None,
    as_result: bool = False,
    **flags: Any,
) -> pd.DataFrame | PredictResult:
    """Predict a date's games (default today, US Eastern) into ml_models.ml_game_predictions;
    the predictions (game_id, home_team, away_team, home_win_prob, ...), empty without games.
    `as_result`: the PredictResult instead (`.predictions`, `.exit_code`, `.message`, and
    `.features_built` when predict built missing or stale features first).

    `request`: a PredictRequest, or the date; `flags`: date, model_path."""
    from ml.app import PredictRequest
    from nba_elt.pipelines.steps import predict as run

    result = run(_request(PredictRequest, request, "date", settings, flags), settings)
    return result if as_result else result.predictions


def verify(
    request: VerifyRequest | str | dt.date | None = None,
    *,
    settings: Settings | None = None,
    **flags: Any,
) -> VerifyReport | CrossProviderReport:
    """Is the day complete and consistent, and are the games of `run_date` (default: today,
    US Eastern) all predicted? A VerifyReport (`.passed`, `.checks`, `.failed`).
    `cross_provider=True`: instead, basketball-reference's and the NBA's final scores and
    team points for the games of `date`, every disagreement listed (a CrossProviderReport).

    `request`: a VerifyRequest, or the date; `flags`: date, start, end, run_date,
    cross_provider."""
    from nba_elt.checks.verify import VerifyRequest
    from nba_elt.checks.verify import verify as run

    return run(_request(VerifyRequest, request, "date", settings, flags), settings=settings)


def reboot_dashboard(
    request: RebootRequest | str | None = None,
    *,
    settings: Settings | None = None,
    **flags: Any,
) -> RebootResult:
    """Restart the dashboard's ECS service (`invoke reboot-dashboard`): a RebootResult.

    `request`: a RebootRequest, or the mode; `flags`: mode, cluster, service, region,
    dry_run, timeout."""
    from nba_elt.ops.dashboard import RebootRequest
    from nba_elt.ops.dashboard import reboot_dashboard as run

    return run(_request(RebootRequest, request, "mode", settings, flags), settings=settings)


def daily(
    request: DailyRequest | str | dt.date | None = None,
    *,
    settings: Settings | None = None,
    observer: Any = None,
    **flags: Any,
) -> DailyReport:
    """The morning pipeline (`invoke daily`): a DailyReport with each step's result.

    `request`: a DailyRequest, or the date; `flags`: date, no_reboot, offline, provider."""
    from nba_elt.pipelines.daily import DailyRequest
    from nba_elt.pipelines.daily import daily as run

    request = _request(DailyRequest, request, "date", settings, flags)
    return run(request, settings=settings, observer=observer)


def gaps(
    request: GapsRequest | int | str | None = None,
    *,
    settings: Settings | None = None,
    progress: Any = None,
    **flags: Any,
) -> GapsResult:
    """Final games whose box scores or pbp are missing (`invoke gaps`); `fix` backfills them.

    `request`: a GapsRequest, or the season; `flags`: season, start, end, fix, offline,
    provider."""
    from nba_elt.checks.gaps import GapsRequest
    from nba_elt.checks.gaps import gaps as run

    request = _request(GapsRequest, request, "season", settings, flags)
    return run(request, settings=settings, progress=progress)


def demo(*, settings: Settings | None = None, observer: Any = None) -> DemoResult:
    """The whole loop on recorded real pages, offline, in a fresh database (`invoke demo`)."""
    from nba_elt.pipelines.demo import demo as run

    return run(settings=settings, observer=observer)


def train(
    request: TrainRequest | str | list[int] | None = None,
    *,
    settings: Settings | None = None,
    **flags: Any,
) -> TrainResult:
    """Fit the game-winner model and compare it with the active one (`invoke train`).

    `request`: a TrainRequest, or the train seasons; `flags`: train_seasons, test_season,
    output, activate, min_games."""
    from ml.train import TrainRequest
    from ml.train import train as run

    return run(_request(TrainRequest, request, "train_seasons", settings, flags), settings=settings)


def models() -> list[ModelInfo]:
    """The models predict can use (shipped, active, candidate, trained before), active first."""
    from ml.registry import list_models

    return list_models()


def activate_model(name: str) -> ModelArtifact:
    """Make a model the one predict uses: "shipped", "candidate" or a version (prefix)."""
    from ml.registry import activate

    return activate(name)


def feature_flags(
    *,
    enable: str | list[str] | None = None,
    disable: str | list[str] | None = None,
    settings: Settings | None = None,
) -> tuple[list[str], list[Flag]]:
    """nba_source.feature_flags (the sources daily ingests), after switching `enable` on and
    `disable` off: (the flags whose value changed, every flag)."""
    from nba_elt.warehouse.db import get_engine
    from nba_elt.warehouse.flags import read_flags, set_flags

    engine = get_engine(settings)
    changed = set_flags(engine, enable, disable) if (enable or disable) else []
    return changed, read_flags(engine)
