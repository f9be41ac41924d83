"""A real `dbt build` (invoke refresh) on data loaded by the product's own backfill from the
real recorded basketball-reference pages (tests/fixtures/bbref), served by a local site.

One warehouse for the module (a dbt build costs ~10 s): January 2018's schedule, the box
scores of 2018-01-01 and three play-by-play games are backfilled, then `refresh` builds
everything; April 2018's schedule (later games, playoffs included) is backfilled next and a
plain `refresh` builds what the ledger says changed. Tests then read what those builds left,
or backfill / corrupt rows and build again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from nba_elt.cli import TaskResult
from tests.conftest import TEMPLATE_DB, _admin_sql

pytestmark = pytest.mark.slow

PBP_GAMES = "201901010DEN,201810160GSW,201810270MIL"
RUN_DATE = "2018-01-15"
OTHER_RUN_DATE = "2018-01-16"


@dataclasses.dataclass
class Warehouse:
    url: str
    env: dict[str, str]
    first: TaskResult
    january_features: pd.DataFrame
    second: TaskResult
    past_games_after_april: pd.DataFrame
    third: TaskResult
    other_day: TaskResult
    other_day_log: str
    other_day_tonight: pd.DataFrame


def _read(url: str, sql: str, **params) -> pd.DataFrame:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(text(sql), conn, params=params)
    finally:
        engine.dispose()


def _ok(result: TaskResult) -> TaskResult:
    assert result.exit_code == 0, result.message
    return result


@pytest.fixture(scope="module")
def warehouse(pg_cluster, tmp_path_factory):
    from pytest_httpserver import HTTPServer

    from nba_elt.cli.commands import backfill_task, refresh_task
    from nba_elt.warehouse.db import _engine_for
    from tests.recorded_site import RecordedSite

    name = f"dbt_build_{os.getpid()}"
    _admin_sql(pg_cluster, f'create database "{name}" template "{TEMPLATE_DB}"')
    url = pg_cluster.url(name)
    server = HTTPServer(host="127.0.0.1")
    server.start()
    site = RecordedSite(server)
    work = tmp_path_factory.mktemp("dbt_build")
    env = {
        "NBA_ELT_DATABASE_URL": url,
        "NBA_ELT_BBREF_URL": site.url,
        "NBA_ELT_REQUESTS_PER_MINUTE": "60000",
        "NBA_ELT_ARCHIVE_DIR": str(work / "archive"),
        "NBA_ELT_LOCALDB_DIR": str(work / "no-localdb"),
        # a target dir of its own: other dbt runs in this checkout may run meanwhile
        "NBA_ELT_DBT_TARGET_PATH": str(work / "target"),
    }
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key in [k for k in os.environ if k.startswith("NBA_ELT_")]:
                mp.delenv(key)
            for key, value in env.items():
                mp.setenv(key, value)
            mp.setattr("nba_elt.config._load_dotenv", lambda: None)
            mp.setattr("nba_elt.extract.http.default_sleep", site.sleep)
            _ok(backfill_task(start="2018-01-01", end="2018-01-31", sources="schedule"))
            _ok(backfill_task(date="2018-01-01", sources="boxscores"))
            _ok(backfill_task(games=PBP_GAMES, sources="pbp"))
            first = refresh_task(sources="boxscores,pbp", run_date=RUN_DATE)
            january = _read(url, "select * from ml_models.ml_past_games order by game_id")
            # later games: the rest of the 2017-18 regular season's last weeks, and playoffs
            _ok(backfill_task(start="2018-04-01", end="2018-04-30", sources="schedule"))
            second = refresh_task(run_date=RUN_DATE)
            after_april = _read(url, "select * from ml_models.ml_past_games order by game_id")
            # another run date (as each day's refresh has): no full re-parse by dbt
            dbt_log = work / "logs" / "dbt.log"
            offset = dbt_log.stat().st_size
            other_day = _ok(refresh_task(run_date=OTHER_RUN_DATE))
            with open(dbt_log, encoding="utf-8") as handle:
                handle.seek(offset)
                other_day_log = handle.read()
            other_tonight = _read(url, "select distinct game_date from ml_models.ml_tonights_games")
            third = refresh_task(run_date=RUN_DATE)
        yield Warehouse(
            url, env, first, january, second, after_april, third, other_day,
            other_day_log, other_tonight,
        )  # fmt: skip
    finally:
        server.stop()
        _engine_for.cache_clear()
        _admin_sql(pg_cluster, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def use_warehouse(warehouse, monkeypatch) -> Warehouse:
    """The module's warehouse as this test's NBA_ELT_* environment."""
    for key, value in warehouse.env.items():
        monkeypatch.setenv(key, value)
    return warehouse


def test_first_refresh_builds_everything_and_every_test_passes(warehouse):
    summary = warehouse.first.summary
    assert warehouse.first.exit_code == 0, warehouse.first.message
    # --sources on a warehouse never refreshed: everything once (fact_x+ needs staging)
    assert summary["selection"] is None
    assert summary["failures"] == []
    # one column_rules test per model, seed and source table, plus the singular tests
    assert summary["models"] >= 15 and summary["tests"] >= 28
    # the play-by-play games have no schedule page loaded: a warning, not a failure
    assert (
        "relationships_fact_pbp_data_game_id__game_id__ref_fact_schedule_data_"
        in (summary["warnings"])
    )


def test_every_refresh_of_the_module_ran_dbt_in_a_new_process(warehouse):
    builds = [warehouse.first, warehouse.second, warehouse.other_day, warehouse.third]
    assert [b.summary["process"] for b in builds] == ["new process"] * 4


def test_an_in_process_build_is_the_same_build_in_this_process(use_warehouse):
    """dbt's own runner in this interpreter (a notebook, an orchestrator): the same nodes,
    run_results and output lines; the build's password leaves os.environ with it."""
    from nba_elt.transform.build import dbt_output, run_build

    environ = dict(os.environ)
    lines: list[str] = []
    with dbt_output(lines.append):
        summary = run_build("stg_nba__feature_flags", in_process=True)
    assert summary.ok and summary.process == "in process"
    assert [(n.kind, n.name) for n in summary.nodes if n.kind == "model"] == [
        ("model", "stg_nba__feature_flags")
    ]
    assert any("Running with dbt=" in line for line in lines)
    assert any(" START sql view model staging.stg_nba__feature_flags" in line for line in lines)
    assert dict(os.environ) == environ


def test_facts_hold_the_recorded_games(warehouse):
    derozan = _read(
        warehouse.url,
        "select * from facts.fact_boxscores where player_id = 'derozde01'",
    ).iloc[0]
    assert (derozan.game_id, derozan.team, derozan.opponent, derozan.pts) == (
        "201801010TOR", "TOR", "MIL", 52,
    )  # fmt: skip
    expected_ts = round(52 / (2 * (derozan.fga + 0.44 * derozan.fta)), 3)
    assert float(derozan.game_ts_pct) == pytest.approx(expected_ts)
    assert derozan.game_score is not None and derozan.season == 2018
    results = _read(
        warehouse.url,
        "select team, opponent, points_for, points_against, outcome, margin "
        "from marts.team_game_results where game_id = '201801010TOR' order by team",
    )
    assert results.values.tolist() == [
        ["MIL", "TOR", 127, 131, "L", -4],
        ["TOR", "MIL", 131, 127, "W", 4],
    ]
    last_event = _read(
        warehouse.url,
        "select home_team, away_team, leading_team, lead_margin, seconds_remaining_in_game "
        "from facts.fact_pbp_data where game_id = '201901010DEN' order by event_idx desc limit 1",
    ).iloc[0]
    assert (last_event.home_team, last_event.away_team, last_event.leading_team) == (
        "DEN", "NYK", "DEN",
    )  # fmt: skip
    assert (last_event.lead_margin, float(last_event.seconds_remaining_in_game)) == (7, 0.0)


def test_tonights_games_answer_the_seed_query(warehouse):
    tonight = _read(
        warehouse.url, "select * from ml_models.ml_tonights_games order by game_date desc limit 100"
    )
    schedule = _read(
        warehouse.url,
        "select game_id from nba_source.schedule where game_date = :d order by game_id",
        d=RUN_DATE,
    )
    assert sorted(tonight.game_id) == schedule.game_id.tolist() and len(tonight) > 0
    # features come from January 1-14 only: nobody has played more than 14 games by then
    assert tonight.home_games_played.between(1, 14).all()
    from ml.features import ID_COLUMNS, TABLE_FEATURE_COLUMNS

    assert list(tonight.columns) == ID_COLUMNS + TABLE_FEATURE_COLUMNS


def test_later_games_leave_earlier_features_unchanged(warehouse):
    assert warehouse.second.exit_code == 0, warehouse.second.message
    # the plain refresh read the ledger: only the schedule changed since the first one
    assert warehouse.second.summary["selection"] == "fact_schedule_data+ ml_tonights_games+"
    after = warehouse.past_games_after_april
    january_ids = set(warehouse.january_features.game_id)
    assert len(after) > len(january_ids)  # April's games came in
    again = after[after.game_id.isin(january_ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, warehouse.january_features)


def test_refresh_with_nothing_new_rebuilds_only_tonights_features(warehouse):
    assert warehouse.third.exit_code == 0, warehouse.third.message
    assert warehouse.third.summary["selection"] == "ml_tonights_games+"
    runs = _read(warehouse.url, "select status, selection from ops.refresh_runs order by id")
    assert runs.values.tolist() == [
        ["succeeded", None],
        ["succeeded", "fact_schedule_data+ ml_tonights_games+"],
        ["succeeded", "ml_tonights_games+"],  # the refresh for OTHER_RUN_DATE
        ["succeeded", "ml_tonights_games+"],
    ]


def test_a_new_run_date_reaches_dbt_without_a_full_reparse(warehouse):
    """NBA_ELT_RUN_DATE is read when dbt executes: partial parsing survives a new date."""
    dates = warehouse.other_day_tonight["game_date"].astype(str).tolist()
    assert dates == [OTHER_RUN_DATE]
    assert warehouse.other_day.summary["run_date"] == OTHER_RUN_DATE
    assert "Unable to do partial parsing" not in warehouse.other_day_log
    assert "Registered adapter" in warehouse.other_day_log  # this build's part of the log


def test_schedule_only_history_passes_the_backfill_tests(warehouse):
    """April's games have no box scores or play-by-play: team results, no failure."""
    april = _read(
        warehouse.url,
        "select count(*) as n from marts.team_game_results where game_date >= '2018-04-01'",
    ).n[0]
    boxscores = _read(
        warehouse.url,
        "select count(*) as n from facts.fact_boxscores where game_date >= '2018-04-01'",
    ).n[0]
    assert april > 0 and boxscores == 0
    assert warehouse.second.summary["failures"] == []


FACT_KEYS = {
    "fact_schedule_data": "game_id",
    "fact_boxscores": "game_id, player_id",
    "fact_pbp_data": "game_id, event_idx",
}


def _facts(url: str) -> dict[str, pd.DataFrame]:
    return {
        table: _read(url, f"select * from facts.{table} order by {key}")
        for table, key in FACT_KEYS.items()
    }


def test_backfilled_older_date_reaches_facts_incrementally(use_warehouse):
    """A game of Christmas 2017 loaded after the facts hold April 2018 comes in on an
    incremental build (the filter is on _loaded_at, not on the game date), and a full
    refresh then gives exactly the same fact rows."""
    from nba_elt.transform.build import run_build
    from nba_elt.warehouse.load import upsert

    url = use_warehouse.url
    schedule = pd.DataFrame(
        [{"game_id": "201712250LAL", "game_date": "2017-12-25", "season": 2018,
          "start_time": "10:30p", "away_team": "MIN", "home_team": "LAL", "away_pts": 121,
          "home_pts": 104, "overtimes": 0, "status": "final", "game_type": "regular"}]
    )  # fmt: skip
    players = pd.DataFrame(
        [{"game_id": "201712250LAL", "player_id": pid, "game_date": "2017-12-25",
          "player": name, "team": team, "opponent": opp, "is_home": home, "outcome": outcome,
          "seconds_played": 2000, "fgm": fgm, "fga": 20, "fg3m": 0, "fg3a": 2, "ftm": ftm,
          "fta": ftm, "pts": pts}
         for pid, name, team, opp, home, outcome, fgm, ftm, pts in (
             ("lakerone01", "Laker One", "LAL", "MIN", True, "L", 50, 4, 104),
             ("wolfone01", "Wolf One", "MIN", "LAL", False, "W", 58, 5, 121),
         )]
    )  # fmt: skip
    # and a game still to be played the day after the run date (for upcoming_games)
    upcoming = pd.DataFrame(
        [{"game_id": "201801160SAC", "game_date": "2018-01-16", "season": 2018,
          "start_time": "10:00p", "away_team": "MIA", "home_team": "SAC", "status": "scheduled",
          "game_type": "regular"}]
    )  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        upsert(conn, "nba_source.schedule", schedule)
        upsert(conn, "nba_source.schedule", upcoming)
        upsert(conn, "nba_source.boxscores", players)
    engine.dispose()

    summary = run_build(
        "fact_schedule_data+ fact_boxscores+", vars={"incremental_lookback_minutes": 0}
    )
    assert summary.ok, summary.to_dict()["failures"]
    incremental = _facts(url)
    christmas = incremental["fact_boxscores"].query("game_id == '201712250LAL'")
    assert sorted(christmas.player_id) == ["lakerone01", "wolfone01"]
    assert len(incremental["fact_boxscores"]) == 82 + 2

    full = run_build(full_refresh=True, vars={"run_date": RUN_DATE})
    assert full.ok, full.to_dict()["failures"]
    rebuilt = _facts(url)
    for table in FACT_KEYS:
        pd.testing.assert_frame_equal(incremental[table], rebuilt[table], check_dtype=False)

    # upcoming_games is a view: a prediction written after the build shows at once
    query = "select matchup, has_prediction, predicted_winner from marts.upcoming_games"
    assert _read(url, query).values.tolist() == [["MIA @ SAC", False, None]]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into ml_models.ml_game_predictions (game_id, game_date, home_team, "
                "away_team, home_win_prob, away_win_prob, model_version) values "
                "('201801160SAC', '2018-01-16', 'SAC', 'MIA', 0.35, 0.65, 'test')"
            )
        )
    engine.dispose()
    assert _read(url, query).values.tolist() == [["MIA @ SAC", True, "MIA"]]


def test_changed_player_points_fail_the_team_sum_test(use_warehouse):
    from nba_elt.cli.commands import refresh_task

    url = use_warehouse.url
    engine = create_engine(url)
    change = (
        "update nba_source.boxscores set pts = pts + :d, _loaded_at = now() "
        "where game_id = '201801010TOR' and player_id = 'derozde01'"
    )
    with engine.begin() as conn:
        conn.execute(text(change), {"d": 2})
    try:
        result = refresh_task(sources="boxscores", run_date=RUN_DATE)
        assert result.exit_code == 1
        failed = {f["name"] for f in result.summary["failures"]}
        assert failed == {"assert_team_points_equal_player_points"}
        assert "assert_team_points_equal_player_points" in result.message
        runs = _read(url, "select status from ops.refresh_runs order by id desc limit 1")
        assert runs.status[0] == "failed"
    finally:
        with engine.begin() as conn:
            conn.execute(text(change), {"d": -2})
        engine.dispose()


def test_dbt_target_dir_is_the_one_configured(use_warehouse):
    target = Path(use_warehouse.env["NBA_ELT_DBT_TARGET_PATH"])
    assert (target / "run_results.json").is_file()


DB_PASSWORD = "dbt-Sup3rS3cret-pw"


def test_invoke_refresh_never_prints_the_password(warehouse, pg_cluster):
    """`invoke refresh --select ... --json` as an operator runs it, as a role with a password."""
    import subprocess
    import sys

    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("select 1 from pg_roles where rolname = 'dbt_operator'")).first():
            conn.exec_driver_sql(
                f"create role dbt_operator login superuser password '{DB_PASSWORD}'"
            )
    admin.dispose()
    url = warehouse.url.replace("postgres@", f"dbt_operator:{DB_PASSWORD}@", 1)
    assert DB_PASSWORD in url
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(warehouse.env, NBA_ELT_DATABASE_URL=url)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "refresh", "--select", "stg_nba__feature_flags",
         "--run-date", RUN_DATE, "--json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert DB_PASSWORD not in done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["task"] == "refresh" and summary["exit_code"] == 0
    assert summary["selection"] == "stg_nba__feature_flags" and summary["models"] == 1
    assert "dbt build" in done.stderr  # the summary table went to stderr
    assert summary["process"] == "new process"
    logs = Path(warehouse.env["NBA_ELT_DBT_TARGET_PATH"]).parent / "logs"
    for log_file in logs.iterdir():
        assert DB_PASSWORD not in log_file.read_text(errors="replace"), log_file


def _invoke_refresh(warehouse, *args: str):
    """`invoke refresh ...` as cron runs it: no terminal (stdout and stderr are pipes)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_") and k != "COLUMNS"}
    env.update(warehouse.env)
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "invoke", "refresh", "--run-date", RUN_DATE, *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_refresh_full_without_a_terminal_is_short_plain_and_unwrapped(warehouse):
    done = _invoke_refresh(warehouse, "--full")

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert len(lines) < 60, done.stderr
    assert "\x1b[" not in done.stderr  # no colours, no cursor movement
    assert not any(" START " in line for line in lines)  # dbt's own lines are hidden
    # the dbt warning of the build, its final count, the log path, the result: one line each
    warn = [line for line in lines if line.startswith("dbt ") and " WARN " in line]
    assert len(warn) == 1 and "relationships_fact_pbp_data_game_id" in warn[0]
    assert any(line.startswith("dbt: Done. PASS=") and "TOTAL=" in line for line in lines)
    log_line = next(line for line in lines if line.startswith("dbt log: "))
    assert Path(log_line.removeprefix("dbt log: ")).is_file()
    last = lines[-1]
    assert last.startswith("refresh: dbt build of everything (full refresh): ")
    assert last.endswith(" s") and "tests passed" in last  # the whole sentence on one line


def test_refresh_verbose_streams_dbt_s_own_output(warehouse):
    done = _invoke_refresh(warehouse, "--select", "stg_nba__feature_flags", "--verbose")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Running with dbt=" in done.stderr
    assert " START sql view model staging.stg_nba__feature_flags" in done.stderr


def test_refresh_leaves_dbt_unit_tests_out_and_the_suite_runs_them(use_warehouse):
    """dbt's advice for production builds: unit tests (fixed inputs, they check the SQL, not
    the data) run in CI, here, not in every refresh."""
    from nba_elt.transform.build import run_build

    refresh_like = run_build("int_game_features")
    assert refresh_like.ok and not [n for n in refresh_like.nodes if n.kind == "unit_test"]
    unit = run_build("int_pregame_team_features int_game_features", unit_tests=True)
    assert unit.ok, unit.to_dict()["failures"]
    assert sorted(n.name for n in unit.nodes if n.kind == "unit_test" and n.status == "pass") == [
        "game_features_put_each_team_on_its_own_side",
        "last10_counts_only_the_ten_previous_games",
        "pregame_features_for_tonights_scheduled_game",
        "pregame_features_ignore_the_game_itself_and_later_games",
    ]


@pytest.mark.parametrize("in_process", [False, True], ids=["new process", "in process"])
def test_a_broken_column_rule_fails_the_build_naming_each_rule(use_warehouse, in_process):
    from nba_elt.transform.build import run_build

    engine = create_engine(use_warehouse.url)
    derozan = "where game_id = '201801010TOR' and player_id = 'derozde01'"
    lowry = "where game_id = '201801010TOR' and player_id = 'lowryky01'"
    valanciunas = "where game_id = '201801010TOR' and player_id = 'valanjo01'"
    with engine.begin() as conn:
        conn.execute(text(f"update facts.fact_boxscores set opponent = null {derozan}"))
        conn.execute(text(f"update facts.fact_boxscores set outcome = 'T' {lowry}"))
        conn.execute(text(f"update facts.fact_boxscores set opponent = 'ZZZ' {valanciunas}"))
    try:
        # nothing newer to rebuild: the fact keeps the bad rows, its tests run on them
        summary = run_build(
            "fact_boxscores", vars={"incremental_lookback_minutes": 0}, in_process=in_process
        )
        assert summary.return_code == 1  # dbt's exit code for a failing node, either way
        assert [n.name for n in summary.failed] == ["column_rules_fact_boxscores"]
        message = summary.to_dict()["failures"][0]["message"]
        assert message.startswith("broken: "), message
        assert "opponent not null (1 row)" in message
        assert "outcome in ('W', 'L') (1 row)" in message
        assert "opponent in teams.team (1 row)" in message
        assert "; Got 3 results" in message
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"update facts.fact_boxscores set opponent = 'MIL' {derozan}"))
            conn.execute(text(f"update facts.fact_boxscores set outcome = 'W' {lowry}"))
            conn.execute(text(f"update facts.fact_boxscores set opponent = 'MIL' {valanciunas}"))
        engine.dispose()


def test_a_refresh_by_source_tests_the_games_loaded_since_the_last_tested_refresh(use_warehouse):
    """Incremental refresh: the facts' tests look at the games loaded since the last
    successful refresh (less the 60-minute lookback); a failed refresh keeps them in scope."""
    from nba_elt.cli.commands import refresh_task

    engine = create_engine(use_warehouse.url)
    # the data was loaded two days ago, the last refresh ran yesterday
    with engine.begin() as conn:
        for table in (
            "nba_source.schedule",
            "nba_source.boxscores",
            "nba_source.pbp",
            "facts.fact_schedule_data",
            "facts.fact_boxscores",
            "facts.fact_pbp_data",
        ):
            conn.execute(text(f"update {table} set _loaded_at = _loaded_at - interval '2 days'"))
        conn.execute(text("update ops.refresh_runs set started_at = started_at - interval '1 day'"))
    bad = "game_id = '201801010TOR' and player_id = 'derozde01'"
    change = f"update {{table}} set pts = pts + :d {{stamp}} where {bad}"

    def corrupt(d: int, stamp: str = "") -> None:
        with engine.begin() as conn:
            conn.execute(text(change.format(table="nba_source.boxscores", stamp=stamp)), {"d": d})
            if not stamp:  # as if an earlier build had read it
                conn.execute(text(change.format(table="facts.fact_boxscores", stamp="")), {"d": d})

    def refresh():
        return refresh_task(sources="schedule,boxscores", run_date=RUN_DATE)

    corrupt(2)  # an old game, out of scope
    try:
        with engine.begin() as conn:  # another game of the day is re-loaded
            conn.execute(text("update nba_source.schedule set _loaded_at = now() "
                              "where game_id = '201801020CLE'"))  # fmt: skip
        first = refresh()
        assert first.exit_code == 0, first.message
        assert first.summary["tests_since"] is not None
        with engine.begin() as conn:  # now the corrupted game is re-loaded
            conn.execute(text(f"update nba_source.boxscores set _loaded_at = now() where {bad}"))
        for _ in range(2):  # a failed refresh does not count: the next one tests it again
            failed = refresh()
            assert failed.exit_code == 1
            assert "assert_team_points_equal_player_points" in failed.message
    finally:
        corrupt(-2, stamp=", _loaded_at = now()")
        engine.dispose()
    assert refresh().exit_code == 0
