"""invoke verify on a real Postgres, with the real 2018-01-01 box scores of the recorded page.

The box scores go through the product's parser and loader (nba_elt.sources.boxscores +
nba_elt.warehouse.load.upsert); the schedule rows are the real results of that night (recorded
schedule page NBA_2018_games-january.html). The dbt-built checks (facts, ml_models) are
exercised end to end in test_demo.py; here they must fail with "run invoke refresh".
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from nba_elt.checks.verify import run_checks
from nba_elt.cli.commands import verify_task
from nba_elt.errors import BadInput
from nba_elt.sources.boxscores import parse_boxscores
from nba_elt.warehouse.load import upsert
from tests.conftest import FIXTURES

DAY = dt.date(2018, 1, 1)
DAILY_LEADERS = FIXTURES / "bbref" / "dailyleaders" / "2018-01-01.html"

# game_id, away, away_pts, home, home_pts, overtimes (recorded schedule page, Jan 1 2018)
GAMES_2018_01_01 = [
    ("201801010BRK", "ORL", 95, "BKN", 98, 0),
    ("201801010TOR", "MIL", 127, "TOR", 131, 1),
    ("201801010CHI", "POR", 124, "CHI", 120, 1),
    ("201801010MIN", "LAL", 96, "MIN", 114, 0),
]


def load_schedule(engine, games=GAMES_2018_01_01) -> None:
    with engine.begin() as conn:
        for game_id, away, away_pts, home, home_pts, ot in games:
            conn.execute(
                text(
                    "insert into nba_source.schedule (game_id, game_date, season, away_team, "
                    "home_team, away_pts, home_pts, overtimes, status) values "
                    "(:g, :d, 2018, :a, :h, :ap, :hp, :ot, 'final')"
                ),
                {
                    "g": game_id,
                    "d": DAY,
                    "a": away,
                    "h": home,
                    "ap": away_pts,
                    "hp": home_pts,
                    "ot": ot,
                },
            )


def load_boxscores(engine) -> int:
    frame = parse_boxscores(DAILY_LEADERS.read_text(), DAY)
    with engine.begin() as conn:
        return upsert(conn, "boxscores", frame)


def set_flag(engine, flag: str, enabled: bool) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("update nba_source.feature_flags set is_enabled = :e where flag = :f"),
            {"e": enabled, "f": flag},
        )


@pytest.fixture
def loaded(engine):
    """Schedule + box scores of 2018-01-01; pbp disabled (no recorded pbp for that night)."""
    load_schedule(engine)
    assert load_boxscores(engine) == 82
    set_flag(engine, "pbp", False)
    return engine


def by_name(checks):
    return {check.name: check for check in checks}


def test_source_checks_pass_on_the_real_night(loaded):
    checks = by_name(run_checks(loaded, [DAY]))

    assert checks["completeness"].passed, checks["completeness"].detail
    assert checks["completeness"].numbers["final_games"] == 4
    assert checks["completeness"].numbers["with_boxscores_both_teams"] == 4
    assert "pbp disabled" in checks["completeness"].detail
    assert checks["consistency"].passed, checks["consistency"].detail
    assert checks["consistency"].numbers["compared_with_boxscores"] == 4
    assert checks["consistency"].numbers["mismatches"] == 0


def test_checks_of_dbt_tables_say_run_refresh_instead_of_crashing(loaded):
    checks = by_name(run_checks(loaded, [DAY]))

    for name in ("freshness", "keys", "predictions", "seed_query"):
        assert not checks[name].passed
        assert "run invoke refresh" in checks[name].detail, (name, checks[name].detail)
    assert checks["freshness"].numbers["boxscores_rows"] == 82

    result = verify_task(date="2018-01-01")
    assert result.exit_code == 1
    assert "failed freshness, keys, predictions, seed_query" in result.message
    assert result.summary["failed"] == ["freshness", "keys", "predictions", "seed_query"]


def test_a_load_after_the_last_refresh_is_named(loaded):
    with loaded.begin() as conn:
        conn.execute(
            text(
                "insert into ops.refresh_runs (status, started_at, finished_at) "
                "values ('succeeded', now() - interval '1 hour', now() - interval '50 minutes')"
            )
        )
    freshness = by_name(run_checks(loaded, [DAY]))["freshness"]
    assert not freshness.passed
    assert "the last successful invoke refresh started at" in freshness.detail
    assert "marts and ml_models may be stale: run invoke refresh" in freshness.detail


def test_deleting_a_box_score_row_fails_consistency_naming_the_game(loaded):
    with loaded.begin() as conn:
        deleted = conn.execute(
            text("delete from nba_source.boxscores where player_id = 'derozde01'")
        ).rowcount
    assert deleted == 1

    checks = by_name(run_checks(loaded, [DAY]))

    consistency = checks["consistency"]
    assert not consistency.passed
    assert consistency.numbers["mismatches"] == 1
    # DeRozan scored 52 of Toronto's 131
    assert "201801010TOR: schedule MIL 127-131 TOR, players' points 127-79" in consistency.detail
    result = verify_task(date="2018-01-01")
    assert result.exit_code == 1 and "consistency" in result.summary["failed"]


def test_missing_pbp_fails_completeness_when_pbp_is_enabled(loaded):
    set_flag(loaded, "pbp", True)
    completeness = by_name(run_checks(loaded, [DAY]))["completeness"]
    assert not completeness.passed
    assert completeness.numbers["with_pbp"] == 0
    assert "play-by-play missing for 201801010BRK, 201801010CHI" in completeness.detail


def test_box_scores_of_a_game_the_schedule_does_not_know(engine):
    load_schedule(engine, [g for g in GAMES_2018_01_01 if g[0] != "201801010MIN"])
    load_boxscores(engine)
    set_flag(engine, "pbp", False)
    completeness = by_name(run_checks(engine, [DAY]))["completeness"]
    assert not completeness.passed
    assert completeness.numbers["boxscore_games_not_in_schedule"] == 1
    assert "games the schedule does not know: 201801010MIN" in completeness.detail


def test_a_team_without_box_scores_fails_completeness(loaded):
    with loaded.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores where team = 'ORL'"))
    completeness = by_name(run_checks(loaded, [DAY]))["completeness"]
    assert not completeness.passed
    assert "box scores missing for a team of 201801010BRK" in completeness.detail


def test_empty_schedule_asks_for_a_schedule_load(engine):
    completeness = by_name(run_checks(engine, [DAY]))["completeness"]
    assert not completeness.passed
    assert "invoke backfill --sources schedule --date 2018-01-01" in completeness.detail


def test_a_date_whose_schedule_was_never_loaded_fails_naming_the_backfill(loaded):
    """Only 2018-01-01's schedule is loaded: 2018-01-03 (real games that night) is unknown."""
    completeness = by_name(run_checks(loaded, [dt.date(2018, 1, 3)]))["completeness"]
    assert not completeness.passed
    assert completeness.detail == (
        "the schedule of 2018-01-03 was never loaded, so its games are unknown: "
        "invoke backfill --sources schedule --date 2018-01-03"
    )
    week = by_name(run_checks(loaded, [DAY + dt.timedelta(days=n) for n in range(7)]))
    assert "invoke backfill --sources schedule --start 2018-01-02 --end 2018-01-07 --yes" in (
        week["completeness"].detail
    )


def test_a_loaded_day_without_games_passes_completeness(engine, bbref_site):
    """2018-04-12, between the regular season and the playoffs: the recorded April 2018 page
    read by a real backfill leaves a successful schedule unit with 0 rows in the ledger."""
    from nba_elt.cli.commands import backfill_task

    no_games = dt.date(2018, 4, 12)
    assert backfill_task(date="2018-04-12", sources="schedule").exit_code == 0
    completeness = by_name(run_checks(engine, [no_games]))["completeness"]
    assert completeness.passed, completeness.detail
    assert completeness.numbers["scheduled_games"] == 0
    assert completeness.detail == "no games scheduled on the date(s) (schedule loaded)"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"date": "2018-13-01"}, "--date must be a date as YYYY-MM-DD"),
        ({"date": "2018-01-01", "start": "2018-01-01"}, "either --date or --start/--end"),
        ({"start": "2018-01-05", "end": "2018-01-01"}, "is before --start"),
        ({"start": "2016-01-01", "end": "2018-01-01"}, "at most 400 days"),
        ({"date": "1900-01-01"}, "--date 1900-01-01 is before the first NBA season"),
    ],
)
def test_bad_input_is_exit_2(options, message, db_url):
    with pytest.raises(BadInput, match=message):
        verify_task(**options)


# --- predictions of the run date ------------------------------------------------------
SCHEDULE_PAGE = FIXTURES / "bbref" / "schedule" / "NBA_2018_games-january.html"
NEXT_DAY = dt.date(2018, 1, 2)


@pytest.fixture
def next_day_scheduled(loaded):
    """The real games of 2018-01-02 (recorded January 2018 schedule page) in the schedule, and
    ml_models.ml_tonights_games as a plain table holding the two columns this check reads
    (the dbt-built table is exercised by test_daily.py and test_demo.py)."""
    from nba_elt.sources.schedule import parse_schedule

    frame = parse_schedule(SCHEDULE_PAGE.read_text())
    with loaded.begin() as conn:
        upsert(conn, "schedule", frame[frame["game_date"] == NEXT_DAY])
        conn.execute(
            text("create table ml_models.ml_tonights_games (game_id text, game_date date)")
        )
    return loaded


def _tonight(engine, day: dt.date) -> list[str]:
    with engine.begin() as conn:
        conn.execute(text("delete from ml_models.ml_tonights_games"))
        conn.execute(
            text(
                "insert into ml_models.ml_tonights_games select game_id, game_date "
                "from nba_source.schedule where game_date = :d"
            ),
            {"d": day},
        )
        return list(
            conn.execute(
                text("select game_id from ml_models.ml_tonights_games order by 1")
            ).scalars()
        )


def _predict(engine, game_ids: list[str], home: float = 0.6) -> None:
    with engine.begin() as conn:
        for game_id in game_ids:
            conn.execute(
                text(
                    "insert into ml_models.ml_game_predictions (game_id, game_date, home_team, "
                    "away_team, home_win_prob, away_win_prob, model_version) select game_id, "
                    "game_date, home_team, away_team, :h, :a, 'test' from nba_source.schedule "
                    "where game_id = :g"
                ),
                {"g": game_id, "h": home, "a": round(1 - home, 6)},
            )


def test_predictions_built_for_another_date_fail_naming_it(next_day_scheduled):
    _tonight(next_day_scheduled, DAY)  # built for 2018-01-01, checked for 2018-01-02

    check = by_name(run_checks(next_day_scheduled, [DAY], NEXT_DAY))["predictions"]

    assert not check.passed
    assert "built for 2018-01-01, not for 2018-01-02" in check.detail
    assert "invoke predict --date 2018-01-02" in check.detail
    assert check.numbers["scheduled_games"] == 5


def test_every_scheduled_game_of_the_run_date_needs_a_prediction(next_day_scheduled):
    games = _tonight(next_day_scheduled, NEXT_DAY)
    assert len(games) == 5  # the real slate of 2018-01-02
    _predict(next_day_scheduled, games[:-1])

    missing = by_name(run_checks(next_day_scheduled, [DAY], NEXT_DAY))["predictions"]
    assert not missing.passed
    assert f"no prediction for {games[-1]} on 2018-01-02" in missing.detail
    assert missing.numbers["predicted"] == 4 and missing.numbers["missing"] == 1

    _predict(next_day_scheduled, games[-1:])
    complete = by_name(run_checks(next_day_scheduled, [DAY], NEXT_DAY))["predictions"]
    assert complete.passed, complete.detail
    assert complete.detail == "all 5 games scheduled on 2018-01-02 predicted, probabilities valid"


def test_a_scheduled_game_missing_from_the_features_fails(next_day_scheduled):
    games = _tonight(next_day_scheduled, NEXT_DAY)
    _predict(next_day_scheduled, games)
    with next_day_scheduled.begin() as conn:
        conn.execute(
            text("delete from ml_models.ml_tonights_games where game_id = :g"), {"g": games[0]}
        )

    check = by_name(run_checks(next_day_scheduled, [DAY], NEXT_DAY))["predictions"]

    assert not check.passed
    assert f"ml_tonights_games lacks {games[0]} scheduled on 2018-01-02" in check.detail


def test_a_run_date_whose_schedule_was_never_loaded_fails(next_day_scheduled):
    _tonight(next_day_scheduled, dt.date(2018, 1, 3))  # none loaded for that day: empty table
    unknown = by_name(run_checks(next_day_scheduled, [DAY], dt.date(2018, 1, 3)))["predictions"]
    assert not unknown.passed
    assert unknown.detail == (
        "the schedule of 2018-01-03 was never loaded, so there is no telling whether it has "
        "games: invoke backfill --sources schedule --date 2018-01-03"
    )


def test_the_run_date_defaults_to_today_not_the_day_after(next_day_scheduled):
    """verify --date D checks tonight's predictions (today, US Eastern), not D + 1's: a past D
    demands nothing of its next day."""
    from nba_elt.dates import today_eastern

    _tonight(next_day_scheduled, NEXT_DAY)
    check = by_name(run_checks(next_day_scheduled, [DAY]))["predictions"]
    assert check.numbers["run_date"] == today_eastern().isoformat()
    result = verify_task(date="2018-01-01")
    assert result.summary["run_date"] == today_eastern().isoformat()
    explicit = verify_task(date="2018-01-01", run_date="2018-01-02")
    assert explicit.summary["run_date"] == "2018-01-02"


def test_a_future_run_date_without_schedule_names_no_backfill_it_would_refuse(loaded):
    from nba_elt.dates import today_eastern

    future = today_eastern() + dt.timedelta(days=2)
    with loaded.begin() as conn:
        conn.execute(
            text("create table ml_models.ml_tonights_games (game_id text, game_date date)")
        )
    check = by_name(run_checks(loaded, [DAY], future))["predictions"]
    assert not check.passed
    assert check.detail.endswith("a backfill takes dates up to today: check it on the day")
    assert "invoke backfill" not in check.detail
