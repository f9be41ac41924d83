"""`invoke verify`: data checks after a backfill, from nba_source to the predictions.

completeness, consistency, freshness and keys for the date(s), the predictions of the run
date (default: today, US Eastern, the date the morning run predicts) and the dashboard's
seed query; each with a status (pass / fail) and the numbers behind it (docs/operations.md
says what each demands). The facts carry the ``_loaded_at`` of the source row they were
built from, so "facts built after the last load" is: same row count and same newest
``_loaded_at`` as the source table. The marts and ml_models have no load time of their own:
the refresh ledger (ops.refresh_runs) must show a successful `invoke refresh` started after
the newest load (a dbt build run by hand leaves no row there and is not judged).

A dbt table that does not exist yet fails its check with "run invoke refresh"; a check
that errors fails with the error's first line, never a crash.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import SQLAlchemyError

from nba_elt.config import Settings
from nba_elt.dates import parse_date, resolve_dates, today_eastern, yesterday_eastern
from nba_elt.errors import BadInput
from nba_elt.results import Result
from nba_elt.sources.crosscheck import FinalGame, score_disagreements, score_text

if TYPE_CHECKING:
    from nba_elt.checks.cross_provider import CrossProviderReport

log = logging.getLogger(__name__)

MAX_DAYS = 400
SEED_QUERY = "select * from ml_models.ml_tonights_games order by game_date desc limit 100"
PROBABILITY_TOLERANCE = 1e-6
REFRESH_HINT = "run invoke refresh"

# source table -> (its fact table, key columns)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "schedule": ("fact_schedule_data", ("game_id",)),
    "boxscores": ("fact_boxscores", ("game_id", "player_id")),
    "pbp": ("fact_pbp_data", ("game_id", "event_idx")),
}


@dataclass
class Check:
    name: str
    status: str  # "pass" or "fail"
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def _pass(name: str, detail: str, **numbers: Any) -> Check:
    return Check(name, "pass", detail, numbers)


def _fail(name: str, detail: str, **numbers: Any) -> Check:
    return Check(name, "fail", detail, numbers)


def _query(conn: Connection, sql: str, **params: Any) -> CursorResult:
    return conn.execute(text(sql), params)


def _exists(conn: Connection, relation: str) -> bool:
    return _query(conn, "select to_regclass(:r) is not null", r=relation).scalar()


def _not_built(relations: list[str]) -> str:
    verb = "does" if len(relations) == 1 else "do"
    return f"{', '.join(relations)} {verb} not exist yet: {REFRESH_HINT}"


def _sample(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _schedule_never_loaded(conn: Connection, dates: list[dt.date]) -> list[dt.date]:
    """The dates whose schedule nothing ever loaded: no row in nba_source.schedule and no
    successful schedule unit in the backfill ledger (a day without games leaves only the
    ledger's unit, with 0 rows)."""
    loaded = _query(
        conn,
        """
        select game_date from nba_source.schedule where game_date = any(:dates)
        union
        select game_date from ops.backfill_units
        where source = 'schedule' and status in ('succeeded', 'skipped')
          and game_date = any(:dates)
        """,
        dates=dates,
    ).scalars()
    return sorted(set(dates) - set(loaded))


def _schedule_fix(days: list[dt.date]) -> str:
    if len(days) == 1:
        return f"invoke backfill --sources schedule --date {days[0]}"
    return f"invoke backfill --sources schedule --start {days[0]} --end {days[-1]} --yes"


# --- the checks ------------------------------------------------------------------------


def check_completeness(conn: Connection, dates: list[dt.date]) -> Check:
    from nba_elt.warehouse.queries import enabled_flags

    name = "completeness"
    enabled = enabled_flags(conn)
    games = _query(
        conn,
        """
        select s.game_id, s.status, s.game_date,
               (select count(distinct b.team) from nba_source.boxscores b
                 where b.game_id = s.game_id and b.team in (s.home_team, s.away_team))
                   as box_teams,
               (select count(*) from nba_source.pbp p where p.game_id = s.game_id)
                   as pbp_events
        from nba_source.schedule s
        where s.game_date = any(:dates)
        order by s.game_id
        """,
        dates=dates,
    ).all()
    orphans = [
        row.game_id
        for row in _query(
            conn,
            """
            select distinct b.game_id from nba_source.boxscores b
            where b.game_date = any(:dates)
              and not exists (select 1 from nba_source.schedule s where s.game_id = b.game_id)
            order by 1
            """,
            dates=dates,
        )
    ]
    final = [g for g in games if g.status == "final"]
    today = today_eastern()
    unplayed = [g.game_id for g in games if g.status == "scheduled" and g.game_date < today]
    missing_box = [g.game_id for g in final if g.box_teams < 2] if "boxscores" in enabled else []
    missing_pbp = [g.game_id for g in final if g.pbp_events == 0] if "pbp" in enabled else []
    numbers = {
        "scheduled_games": len(games),
        "final_games": len(final),
        "with_boxscores_both_teams": sum(1 for g in final if g.box_teams >= 2),
        "with_pbp": sum(1 for g in final if g.pbp_events > 0),
        "boxscore_games_not_in_schedule": len(orphans),
        "not_final_past_games": len(unplayed),
        "sources_checked": ",".join(s for s in ("schedule", "boxscores", "pbp") if s in enabled),
    }
    never_loaded = _schedule_never_loaded(conn, dates)
    if never_loaded:
        numbers["dates_schedule_never_loaded"] = len(never_loaded)
        return _fail(
            name,
            f"the schedule of {_sample([d.isoformat() for d in never_loaded])} was never "
            f"loaded, so its games are unknown: {_schedule_fix(never_loaded)}",
            **numbers,
        )
    if not games and not orphans:
        return _pass(name, "no games scheduled on the date(s) (schedule loaded)", **numbers)
    problems = []
    if missing_box:
        problems.append(f"box scores missing for a team of {_sample(missing_box)}")
    if missing_pbp:
        problems.append(f"play-by-play missing for {_sample(missing_pbp)}")
    if orphans:
        problems.append(f"box scores for games the schedule does not know: {_sample(orphans)}")
    if unplayed:
        problems.append(f"games of a past date not final in the schedule: {_sample(unplayed)}")
    if problems:
        return _fail(name, "; ".join(problems), **numbers)
    skipped = [s for s in ("boxscores", "pbp") if s not in enabled]
    note = f" ({', '.join(skipped)} disabled in nba_source.feature_flags: not required)"
    return _pass(name, f"{len(final)} final games complete" + (note if skipped else ""), **numbers)


def check_consistency(conn: Connection, dates: list[dt.date]) -> Check:
    name = "consistency"
    rows = _query(
        conn,
        """
        with box as (
            select b.game_id,
                   sum(b.pts) filter (where b.team = s.home_team) as home_box,
                   sum(b.pts) filter (where b.team = s.away_team) as away_box
            from nba_source.boxscores b
            inner join nba_source.schedule s on s.game_id = b.game_id
            where b.game_date = any(:dates)
            group by b.game_id
        ),
        last_event as (
            select distinct on (game_id) game_id, home_score, away_score
            from nba_source.pbp
            where game_date = any(:dates)
            order by game_id, event_idx desc
        )
        select s.game_id, s.home_team, s.away_team, s.home_pts, s.away_pts,
               box.home_box, box.away_box,
               last_event.home_score as pbp_home, last_event.away_score as pbp_away
        from nba_source.schedule s
        left join box on box.game_id = s.game_id
        left join last_event on last_event.game_id = s.game_id
        where s.game_date = any(:dates) and s.status = 'final'
        order by s.game_id
        """,
        dates=dates,
    ).all()
    games = [FinalGame(r.game_id, r.away_team, r.home_team, (r.away_pts, r.home_pts)) for r in rows]
    players = {
        r.game_id: (r.away_box, r.home_box)
        for r in rows
        if r.home_box is not None or r.away_box is not None
    }
    last_events = {r.game_id: (r.pbp_away, r.pbp_home) for r in rows if r.pbp_home is not None}
    figures = {"players' points": players, "last play-by-play score": last_events}
    found = sorted(  # by game, the players' points first
        (
            (d, what)
            for what, by_game in figures.items()
            for d in score_disagreements(games, by_game)
        ),
        key=lambda pair: pair[0].game.game_id,
    )
    mismatches = [
        f"{d.game.game_id}: schedule {d.game.away} {score_text(d.game.score)} {d.game.home}, "
        f"{what} {score_text(d.found)}"
        for d, what in found
    ]
    numbers = {
        "final_games": len(rows),
        "compared_with_boxscores": len(players),
        "compared_with_pbp": len(last_events),
        "mismatches": len(mismatches),
    }
    if mismatches:
        return _fail(name, "; ".join(mismatches[:5]), **numbers)
    return _pass(
        name,
        f"final score = players' points ({len(players)} games) = last pbp score "
        f"({len(last_events)} games)",
        **numbers,
    )


def _rows_and_newest_load(conn: Connection, relation: str, dates: list[dt.date]) -> Any:
    return _query(
        conn,
        f"select count(*) as n, max(_loaded_at) as newest from {relation} "
        "where game_date = any(:dates)",
        dates=dates,
    ).one()


def check_freshness(conn: Connection, dates: list[dt.date]) -> Check:
    name = "freshness"
    numbers: dict[str, Any] = {}
    problems: list[str] = []
    missing: list[str] = []
    loads = []  # the newest load of each source table for the date(s)
    for source, (fact, _) in TABLES.items():
        newest = _query(conn, f"select max(_loaded_at) from nba_source.{source}").scalar()
        numbers[f"{source}_newest_load"] = newest.isoformat(timespec="seconds") if newest else None
        src = _rows_and_newest_load(conn, f"nba_source.{source}", dates)
        numbers[f"{source}_rows"] = src.n
        loads.append(src.newest)
        relation = f"facts.{fact}"
        if not _exists(conn, relation):
            missing.append(relation)
            continue
        built = _rows_and_newest_load(conn, relation, dates)
        numbers[f"{fact}_rows"] = built.n
        if built.n != src.n or built.newest != src.newest:
            problems.append(
                f"{relation} was not built from the last load of nba_source.{source} "
                f"({built.n} rows vs {src.n}, newest load {built.newest} vs {src.newest}): "
                f"{REFRESH_HINT}"
            )
    if missing:
        problems.insert(0, _not_built(missing))
    problems += _refresh_after_last_load(conn, max(filter(None, loads), default=None), numbers)
    if problems:
        return _fail(name, "; ".join(problems), **numbers)
    return _pass(name, "the facts hold the last load of every source table", **numbers)


def _refresh_after_last_load(
    conn: Connection, newest: dt.datetime | None, numbers: dict[str, Any]
) -> list[str]:
    """The marts and ml_models: the last successful `invoke refresh` (ops.refresh_runs)
    must have started after `newest`, the newest load of the date(s)."""
    if not _exists(conn, "ops.refresh_runs"):
        return []
    last = _query(
        conn, "select max(started_at) from ops.refresh_runs where status = 'succeeded'"
    ).scalar()
    numbers["last_refresh_started"] = last.isoformat(timespec="seconds") if last else None
    if last is None or newest is None or newest <= last:
        return []
    return [
        f"the last successful invoke refresh started at {last:%Y-%m-%d %H:%M:%S}, before the "
        f"newest load ({newest:%Y-%m-%d %H:%M:%S}): marts and ml_models may be stale: "
        f"{REFRESH_HINT}"
    ]


def check_keys(conn: Connection, dates: list[dt.date]) -> Check:
    name = "keys"
    numbers: dict[str, Any] = {}
    problems: list[str] = []
    relations = [(f"nba_source.{source}", keys) for source, (_, keys) in TABLES.items()]
    relations += [(f"facts.{fact}", keys) for fact, keys in TABLES.values()]
    missing = [relation for relation, _ in relations if not _exists(conn, relation)]
    if missing:
        problems.append(_not_built(missing))
    for relation, keys in relations:
        if relation in missing:
            continue
        key_list = ", ".join(keys)
        null_test = " or ".join(f"{k} is null" for k in keys)
        counts = _query(
            conn,
            f"""
            select
                (select count(*) from (
                    select {key_list} from {relation} where game_date = any(:dates)
                    group by {key_list} having count(*) > 1) as dup) as duplicates,
                (select count(*) from {relation}
                    where game_date = any(:dates) and ({null_test})) as null_keys
            """,
            dates=dates,
        ).one()
        numbers[f"{relation}_duplicates"] = counts.duplicates
        if counts.duplicates or counts.null_keys:
            problems.append(
                f"{relation}: {counts.duplicates} duplicated and {counts.null_keys} null "
                f"keys ({key_list})"
            )
    if problems:
        return _fail(name, "; ".join(problems), **numbers)
    return _pass(name, "no duplicate or null keys", **numbers)


def check_predictions(
    conn: Connection, dates: list[dt.date], run_date: dt.date | None = None
) -> Check:
    """ml_tonights_games was built for the run date and every game nba_source.schedule has
    that day (not postponed) has a valid prediction."""
    name = "predictions"
    day = run_date or today_eastern()  # the date the morning run predicts
    for relation in ("ml_models.ml_tonights_games", "ml_models.ml_game_predictions"):
        if not _exists(conn, relation):
            return _fail(
                name,
                f"{relation} does not exist yet: run invoke refresh --run-date {day} "
                f"(or invoke predict --date {day}, which builds it)",
            )
    built_for = [
        r[0].isoformat()
        for r in _query(
            conn, "select distinct game_date from ml_models.ml_tonights_games order by 1"
        )
    ]
    scheduled = _query(
        conn,
        """
        select s.game_id, t.game_id as featured, p.game_id as predicted,
               p.home_win_prob, p.away_win_prob
        from nba_source.schedule s
        left join ml_models.ml_tonights_games t on t.game_id = s.game_id
        left join ml_models.ml_game_predictions p on p.game_id = s.game_id
        where s.game_date = :day and s.status <> 'postponed'
        order by s.game_id
        """,
        day=day,
    ).all()
    schedule_unknown = bool(_schedule_never_loaded(conn, [day]))
    other_dates = [d for d in built_for if d != day.isoformat()]
    unfeatured = [r.game_id for r in scheduled if r.featured is None]
    missing = [r.game_id for r in scheduled if r.predicted is None]
    invalid = [
        r.game_id
        for r in scheduled
        if r.predicted is not None
        and not (
            0 <= r.home_win_prob <= 1
            and 0 <= r.away_win_prob <= 1
            and abs(r.home_win_prob + r.away_win_prob - 1) <= PROBABILITY_TOLERANCE
        )
    ]
    numbers = {
        "run_date": day.isoformat(),
        "tonights_dates": ",".join(built_for),
        "scheduled_games": len(scheduled),
        "with_features": len(scheduled) - len(unfeatured),
        "predicted": len(scheduled) - len(missing),
        "missing": len(missing),
        "invalid_probabilities": len(invalid),
    }
    fix = f"run invoke predict --date {day} (it builds the features for that date)"
    fix_schedule = (
        _schedule_fix([day])
        if day <= today_eastern()
        else "a backfill takes dates up to today: check it on the day"
    )
    failures = [  # the first that applies is the one reported
        (
            other_dates,
            f"ml_tonights_games was built for {', '.join(other_dates)}, not for {day}: {fix}",
        ),
        (
            schedule_unknown,
            f"the schedule of {day} was never loaded, so there is no telling whether it has "
            f"games: {fix_schedule}",
        ),
        (unfeatured, f"ml_tonights_games lacks {_sample(unfeatured)} scheduled on {day}: {fix}"),
        (missing, f"no prediction for {_sample(missing)} on {day}: {fix}"),
        (invalid, f"probabilities outside [0, 1] or not summing to 1 for {_sample(invalid)}"),
    ]
    for failed, detail in failures:
        if failed:
            return _fail(name, detail, **numbers)
    if not scheduled:
        return _pass(name, f"no games scheduled on {day}: nothing to predict", **numbers)
    return _pass(
        name,
        f"all {len(scheduled)} games scheduled on {day} predicted, probabilities valid",
        **numbers,
    )


def check_seed_query(conn: Connection, dates: list[dt.date]) -> Check:
    name = "seed_query"
    if not _exists(conn, "ml_models.ml_tonights_games"):
        return _fail(name, _not_built(["ml_models.ml_tonights_games"]))
    rows = _query(conn, SEED_QUERY).all()
    return _pass(name, f"{SEED_QUERY!r} returned {len(rows)} rows", rows=len(rows))


CHECKS: tuple[tuple[str, Callable[[Connection, list[dt.date]], Check]], ...] = (
    ("completeness", check_completeness),
    ("consistency", check_consistency),
    ("freshness", check_freshness),
    ("keys", check_keys),
    ("predictions", check_predictions),
    ("seed_query", check_seed_query),
)


def run_checks(
    engine: Engine, dates: list[dt.date], run_date: dt.date | None = None
) -> list[Check]:
    """Every check, each on its own connection; an error fails that check only.

    `run_date`: the date whose predictions are checked (default: today, US Eastern).
    """
    results = []
    for name, check in CHECKS:
        if check is check_predictions:
            check = functools.partial(check_predictions, run_date=run_date)
        try:
            with engine.connect() as conn:
                results.append(check(conn, dates))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.debug("check %s errored", name, exc_info=True)
            results.append(_fail(name, f"the check could not run: {reason}"))
    return results


@dataclass
class VerifyReport(Result):
    """The checks of `verify` for `dates`; exit_code 1 when any failed."""

    label: str = ""
    dates: list[dt.date] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class VerifyRequest:
    """A validated verify: the dates to check, the run date whose predictions are checked
    (None: today, US Eastern); `cross_provider`: compare the providers on the one date."""

    dates: tuple[dt.date, ...]
    run_date: dt.date | None = None
    cross_provider: bool = False

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, date: str | dt.date | None = None,
        start: str | dt.date | None = None, end: str | dt.date | None = None,
        run_date: str | dt.date | None = None, cross_provider: bool = False,
    ) -> VerifyRequest:  # fmt: skip
        """`invoke verify`'s flags (default: yesterday, US Eastern); BadInput (exit 2)."""
        if cross_provider and (start or end):
            raise BadInput("--cross-provider checks one date: give --date YYYY-MM-DD")
        given = (None if value is None else str(value) for value in (date, start, end))
        dates = resolve_dates(*given, default=yesterday_eastern())
        if len(dates) > MAX_DAYS:
            raise BadInput(f"verify covers at most {MAX_DAYS} days at once, got {len(dates)}")
        day = parse_date(str(run_date), flag="--run-date", allow_future=True) if run_date else None
        return cls(tuple(dates), day, bool(cross_provider))


def verify(
    request: VerifyRequest, *, settings: Settings | None = None
) -> VerifyReport | CrossProviderReport:
    """Run every check for the request's date(s); exit 1 if any fails (a VerifyReport).

    The predictions checked are those of the run date (default: today, US Eastern: the
    date the morning run predicts, whatever the date(s) checked). With cross_provider, the
    providers compared on the date instead (checks.cross_provider, a CrossProviderReport).
    """
    if request.cross_provider:
        from nba_elt.checks.cross_provider import verify_cross_provider

        return verify_cross_provider(request.dates[0], settings=settings)
    dates, predicted_day = list(request.dates), request.run_date
    from nba_elt.warehouse.db import get_engine

    label = dates[0].isoformat() if len(dates) == 1 else f"{dates[0]}..{dates[-1]}"
    results = run_checks(get_engine(settings), dates, predicted_day)
    failed = [c.name for c in results if not c.passed]
    summary = {
        "status": "failed" if failed else "succeeded",
        "dates": [d.isoformat() for d in dates],
        "run_date": (predicted_day or today_eastern()).isoformat(),
        "failed": failed,
        "checks": [asdict(c) for c in results],
    }
    fields_ = {"label": label, "dates": dates, "checks": results}
    if failed:
        details = "; ".join(f"{c.name}: {c.detail}" for c in results if not c.passed)
        message = f"{label}: failed {', '.join(failed)} — {details}"
        return VerifyReport(1, message, summary, **fields_)
    return VerifyReport(0, f"{label}: all {len(results)} checks passed", summary, **fields_)
