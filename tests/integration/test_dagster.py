"""nba-elt under Dagster (nba_elt/orchestration, docs/orchestration.md).

Dagster's in-process execution against the test Postgres and the recorded
basketball-reference pages on a local server, with a throwaway DAGSTER_HOME. The dbt part
(one test) is marked slow. Skipped when the `dagster` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
DAILY_JAN1 = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
DB_PASSWORD = "dagster-s3cret-pw"

needs_dagster = pytest.mark.skipif(
    importlib.util.find_spec("dagster") is None or importlib.util.find_spec("dagster_dbt") is None,
    reason="the dagster extra is not installed (pip install -e '.[dagster]')",
)


def test_import_nba_elt_never_imports_dagster():
    code = (
        "import sys, nba_elt; nba_elt.backfill, nba_elt.refresh\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def instance(dagster_home):
    import dagster as dg

    with dg.DagsterInstance.get() as found:
        yield found


@pytest.fixture
def secret_db_url(db_url, pg_cluster, monkeypatch) -> str:
    """The test database through a role with a password (to prove it is never stored)."""
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("select 1 from pg_roles where rolname = 'dagster_op'")).first():
            conn.exec_driver_sql(f"create role dagster_op login superuser password '{DB_PASSWORD}'")
    admin.dispose()
    url = db_url.replace("postgres@", f"dagster_op:{DB_PASSWORD}@", 1)
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", url)
    return url


def _sources(*names: str):
    from nba_elt.orchestration.partitions import game_days
    from nba_elt.orchestration.sources import source_assets

    return [a for a in source_assets(game_days(), "auto") if a.key.path[-1] in names]


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _built_sql(target: Path, run_id: str, model: str) -> str:
    """The SQL dbt ran for a model in the dbt build of a Dagster run (its folder in target)."""
    (build,) = target.glob(f"dbt_core-{run_id[:7]}-*")
    return "\n".join(p.read_text() for p in build.glob(f"run/**/{model}.sql"))


def _files_holding(folder: Path, secret: str) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and secret.encode() in p.read_bytes()
    ]


@needs_dagster
def test_a_game_day_loads_its_sources_and_passes_its_checks(
    bbref_site, secret_db_url, engine, instance, dagster_home
):
    import dagster as dg

    result = dg.materialize(
        _sources("schedule", "boxscores"), partition_key="2018-01-01", instance=instance
    )
    assert result.success
    assert _scalar(engine, "select count(*) from nba_source.boxscores") == 82
    assert (
        _scalar(engine, "select pts from nba_source.boxscores where player_id = 'derozde01'") == 52
    )
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks == {
        ("nba_source/schedule", "completeness"): True,
        ("nba_source/boxscores", "completeness"): True,
        ("nba_source/boxscores", "consistency"): True,
    }
    box = result.asset_materializations_for_node("nba_source__boxscores")[0].metadata
    assert box["rows_written"].value == 82 and box["games"].value == 4
    assert box["pages_from_site"].value + box["pages_from_archive"].value == box["pages"].value
    run_id = box["ledger_run_id"].value
    assert _scalar(engine, f"select status from ops.backfill_runs where id = {run_id}") == (
        "succeeded"
    )
    assert _scalar(engine, "select count(*) from ops.backfill_runs") == 2  # one per source
    assert _files_holding(dagster_home, DB_PASSWORD) == []


@needs_dagster
def test_a_day_without_games_materializes_with_zero_games(bbref_site, db_url, instance):
    import dagster as dg

    # 2018-04-12: the day between the regular season and the playoffs (the recorded April page)
    result = dg.materialize(_sources("schedule"), partition_key="2018-04-12", instance=instance)
    assert result.success
    metadata = result.asset_materializations_for_node("nba_source__schedule")[0].metadata
    assert metadata["games"].value == 0
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


@needs_dagster
def test_a_truncated_box_score_page_fails_the_step_and_writes_nothing(
    faulty_site, db_url, engine, instance
):
    import dagster as dg

    from tests.faulty_site import Truncate

    faulty_site.fault(DAILY_JAN1, Truncate(0.5))
    result = dg.materialize(
        _sources("schedule", "boxscores"),
        partition_key="2018-01-01",
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "nba_source__boxscores"
    error = failure.step_failure_data.user_failure_data.description
    assert "boxscores 2018-01-01" in error and "truncated" in error
    assert not result.asset_materializations_for_node("nba_source__boxscores")
    assert _scalar(engine, "select count(*) from nba_source.boxscores") == 0
    assert faulty_site.hits(DAILY_JAN1) == 1  # a failed unit is not retried blindly


@needs_dagster
def test_dagster_definitions_validate_accepts_the_module(dagster_home, db_url):
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["DAGSTER_HOME"] = str(dagster_home)
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "nba_elt.orchestration.dagster"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful" in done.stderr


@needs_dagster
@pytest.mark.slow
def test_a_game_day_through_dbt_the_predictions_and_the_dashboard(
    bbref_site, secret_db_url, engine, instance, dagster_home
):
    import dagster as dg

    from nba_elt.orchestration.dagster import build_defs

    defs = build_defs()  # parses the dbt project into DAGSTER_HOME/dbt-target
    everything = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    dbt_core = {k for k in graph.get_all_asset_keys() if k.path[0] in ("staging", "facts")}
    dbt_core |= {k for k in graph.get_all_asset_keys() if k.path[0] in ("marts", "ml_models")}
    dbt_core -= {
        dg.AssetKey(["marts", "upcoming_games"]),
        dg.AssetKey(["staging", "stg_ml__game_predictions"]),
        dg.AssetKey(["ml_models", "ml_game_predictions"]),
    }
    sources = {dg.AssetKey(["nba_source", "schedule"]), dg.AssetKey(["nba_source", "boxscores"])}

    # yesterday's sources and dbt models (the morning job, without pbp: not recorded that day)
    data = everything.execute_in_process(
        partition_key="2018-01-01", asset_selection=list(sources | dbt_core), instance=instance
    )
    assert data.success
    box = "select count(*) from facts.fact_boxscores where game_date = '2018-01-01'"
    assert _scalar(engine, box) == 82
    pts = "select pts from facts.fact_boxscores where player_id = 'derozde01'"
    assert _scalar(engine, pts) == 52
    checks = {e.check_name: e.passed for e in data.get_asset_check_evaluations() if e.asset_key}
    assert checks["column_rules_fact_boxscores"] and checks["consistency"]
    assert all(checks.values()), checks
    # the tonight models were built for the day after the partition (its run date)
    target = dagster_home / "dbt-target"
    assert "game_date = date '2018-01-02'" in _built_sql(target, data.run_id, "ml_tonights_games")

    # the day's predictions, the models that show them, the dashboard (not configured: skipped)
    serving = defs.resolve_job_def("game_day_serving").execute_in_process(
        partition_key="2018-01-01", instance=instance
    )
    assert serving.success
    predicted = "select count(*) from ml_models.ml_game_predictions where game_date = '2018-01-01'"
    assert _scalar(engine, predicted) == 4
    staged = "select count(*) from staging.stg_ml__game_predictions where game_date = '2018-01-01'"
    assert _scalar(engine, staged) == 4
    shown = {e.asset_key.to_user_string() for e in serving.get_asset_materialization_events()}
    assert {"ml_models/ml_game_predictions", "marts/upcoming_games", "dashboard"} <= shown
    dashboard = serving.asset_materializations_for_node("dashboard")[0].metadata
    assert dashboard["rebooted"].value is False

    # a two-day range in one run: one dbt build, the facts rebuilt for exactly those days
    ranged = everything.execute_in_process(
        asset_selection=[dg.AssetKey(["facts", "fact_boxscores"])],
        tags={
            "dagster/asset_partition_range_start": "2018-01-01",
            "dagster/asset_partition_range_end": "2018-01-02",
        },
        instance=instance,
    )
    assert ranged.success
    assert len(list(target.glob(f"dbt_core-{ranged.run_id[:7]}-*"))) == 1
    window = "game_date >= date '2018-01-01' and game_date < date '2018-01-03'"
    assert window in _built_sql(target, ranged.run_id, "fact_boxscores")
    assert _scalar(engine, box) == 82

    assert _files_holding(dagster_home, DB_PASSWORD) == []
