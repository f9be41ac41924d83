"""nba-elt under Dagster (nba_elt/orchestration, docs/orchestration.md).

Dagster's in-process execution against the test Postgres and the recorded
basketball-reference pages on a local server, with a throwaway DAGSTER_HOME. The dbt part
and the `dagster` command line (a dbt parse each) are marked slow. Skipped when the
`dagster` extra is not installed.
"""

from __future__ import annotations

import datetime as dt
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
SCHEDULE_AND_BOXSCORES = "nba_source/schedule,nba_source/boxscores"

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
def postgres_storage(request, engine, pg_cluster, dagster_home) -> Path:
    """DAGSTER_HOME as `invoke dagster` writes it, its storage in Postgres as in production."""
    from nba_elt.orchestration.dev import INSTANCE_YAML
    from tests.conftest import _admin_sql

    storage = f"{engine.url.database}_dagster_storage"
    _admin_sql(pg_cluster, f'create database "{storage}"')
    request.addfinalizer(
        lambda: _admin_sql(pg_cluster, f'drop database if exists "{storage}" with (force)')
    )
    postgres = f"storage:\n  postgres:\n    postgres_url: {pg_cluster.url(storage)}\n"
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML + postgres)
    return dagster_home


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
    return "\n".join(p.read_text() for p in build.glob(f"**/{model}.sql"))  # compiled/, run/


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
def test_a_day_not_published_yet_fails_the_step_for_an_hourly_retry(bbref_site, db_url, instance):
    import dagster as dg

    from nba_elt.orchestration.sources import SourceConfig

    schedule, boxscores = _sources("schedule", "boxscores")
    assert dg.materialize([schedule], partition_key="2018-01-01", instance=instance).success
    bbref_site.override(DAILY_JAN1, "<html><body><p>No games yet</p></body></html>")
    bbref_site.override(DAILY_JAN1 + "&type=all", "<html><body>nothing</body></html>")
    context = dg.build_asset_context(partition_key="2018-01-01", instance=instance)
    with pytest.raises(dg.Failure) as failed:
        boxscores(context=context, config=SourceConfig())
    assert failed.value.allow_retries is True
    assert "not available yet (exit 75)" in failed.value.description
    assert boxscores.op.retry_policy == dg.RetryPolicy(max_retries=6, delay=3600)
    # one request stream per site: every source asset is in the site's pool
    assert {asset.op.pool for asset in _sources("schedule", "boxscores", "pbp")} == {"bbref"}


def test_the_consistency_check_charges_a_mismatch_to_the_source_that_disagrees():
    pytest.importorskip("dagster", reason="the dagster extra is not installed")
    from nba_elt.checks.verify import Check, VerifyReport
    from nba_elt.orchestration.sources import check_results

    pbp_wrong = "201801010TOR: schedule MIL 122-131 TOR, last play-by-play score 120-131"
    report = VerifyReport(
        1,
        checks=[
            Check("completeness", "pass", "4 final games complete", {"final_games": 4,
                  "with_boxscores_both_teams": 4, "with_pbp": 4, "scheduled_games": 4}),
            Check("consistency", "fail", pbp_wrong, {"final_games": 4, "mismatches": 1}),
        ],
    )  # fmt: skip
    box = {r.check_name: r.passed for r in check_results("boxscores", report)}
    pbp = {r.check_name: r.passed for r in check_results("pbp", report)}
    assert box == {"completeness": True, "consistency": True}
    assert pbp == {"completeness": True, "consistency": False}
    (failed,) = [r for r in check_results("pbp", report) if not r.passed]
    assert failed.description == pbp_wrong


def _dagster_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    dagster = Path(sys.executable).parent / "dagster"
    return subprocess.run(
        [str(dagster), *args, "-m", "nba_elt.orchestration.dagster"],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
    )


@needs_dagster
@pytest.mark.slow  # two loads of the definitions in new processes, one `dbt parse`: minutes
def test_the_dagster_command_line_validates_and_materializes_a_day(
    bbref_site, secret_db_url, engine, dagster_home
):
    validated = _dagster_cli("definitions", "validate", home=dagster_home)
    assert validated.returncode == 0, validated.stderr[-3000:]
    assert "Validation successful" in validated.stdout + validated.stderr

    done = _dagster_cli(
        "asset", "materialize", "--select", SCHEDULE_AND_BOXSCORES,
        "--partition", "2018-01-01", home=dagster_home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _scalar(engine, "select count(*) from nba_source.boxscores") == 82
    assert DB_PASSWORD not in done.stdout + done.stderr
    assert _files_holding(dagster_home, DB_PASSWORD) == []


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

    # the morning schedule asks for yesterday (US Eastern); its run's success, for the day after
    noon = dt.datetime(2018, 1, 2, 12, tzinfo=dt.UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=noon) as tick:
        request = defs.resolve_schedule_def("morning")(tick)
    assert request.partition_key == "2018-01-01"
    sensor = defs.resolve_sensor_def("after_the_morning_run")
    finished = instance.get_run_by_id(data.run_id)
    for tags, wanted in (({}, None), ({"dagster/schedule_name": "morning"}, "2018-01-02")):
        asked = sensor(
            dg.build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_event=data.get_run_success_event(),
                dagster_instance=instance, dagster_run=finished.with_tags({**finished.tags, **tags}),
            )
        )  # fmt: skip
        assert getattr(asked, "partition_key", None) == wanted  # a backfill's run: skipped

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


def _rows(engine, table: str) -> list[tuple]:
    """Every row of nba_source.<table> but its _loaded_at, in one order."""
    with engine.connect() as conn:
        columns = conn.execute(
            text(
                "select column_name from information_schema.columns where table_schema ="
                " 'nba_source' and table_name = :t and column_name <> '_loaded_at'"
                " order by ordinal_position"
            ),
            {"t": table},
        ).scalars()
        listed = ", ".join(f'"{c}"' for c in columns)
        sql = f"select {listed} from nba_source.{table} order by {listed}"
        return [tuple(row) for row in conn.execute(text(sql))]


@needs_dagster
def test_a_day_through_the_cli_backfill_and_through_dagster_gives_identical_tables(
    bbref_site, db_url, engine, pg_cluster, instance, monkeypatch
):
    import dagster as dg

    import nba_elt
    from nba_elt.warehouse.db import _engine_for
    from tests.conftest import TEMPLATE_DB, _admin_sql

    backfilled = nba_elt.backfill(date="2018-01-01", sources=["schedule", "boxscores"])
    assert backfilled.exit_code == 0, backfilled.message

    # the same day through Dagster into a second database (same site, its own archive)
    other_db = f"{engine.url.database}_dagster"
    _admin_sql(pg_cluster, f'create database "{other_db}" template "{TEMPLATE_DB}"')
    other = create_engine(pg_cluster.url(other_db))
    try:
        monkeypatch.setenv("NBA_ELT_DATABASE_URL", pg_cluster.url(other_db))
        monkeypatch.setenv(
            "NBA_ELT_ARCHIVE_DIR", str(Path(os.environ["NBA_ELT_ARCHIVE_DIR"]) / "d")
        )
        result = dg.materialize(
            _sources("schedule", "boxscores"), partition_key="2018-01-01", instance=instance
        )
        assert result.success
        for table, count in (("schedule", 4), ("boxscores", 82)):
            through_cli, through_dagster = _rows(engine, table), _rows(other, table)
            assert len(through_cli) == count
            assert through_dagster == through_cli
    finally:
        other.dispose()
        _engine_for.cache_clear()
        _admin_sql(pg_cluster, f'drop database if exists "{other_db}" with (force)')


@needs_dagster
def test_invoke_dagster_refuses_a_bad_setting_plainly_before_writing_anything(tmp_path):
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "NBA_ELT_REQUESTS_PER_MINUTE": "fast"}
    invoke = Path(sys.executable).parent / "invoke"
    done = subprocess.run(
        [str(invoke), "dagster"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert (
        "invoke dagster: ConfigError" in done.stderr
        and "NBA_ELT_REQUESTS_PER_MINUTE" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert not home.exists()


@needs_dagster
def test_the_pools_get_their_rows_before_any_run_and_a_limit_set_by_hand_stays(postgres_storage):
    import dagster as dg

    from nba_elt.orchestration.dev import initialize_pools

    def limits(instance) -> dict[str, tuple[int, bool]]:
        return {
            p.name: (p.limit, p.from_default) for p in instance.event_log_storage.get_pool_limits()
        }

    with dg.DagsterInstance.get() as instance:
        assert initialize_pools(instance) == ["bbref", "nba", "dbt"]
        assert limits(instance) == {name: (1, True) for name in ("bbref", "nba", "dbt")}
        assert initialize_pools(instance) == []  # safe to repeat
        instance.event_log_storage.set_concurrency_slots("dbt", 3)  # the operator's, in the UI

    # the operator raises the default in dagster.yaml: Dagster's own re-initialization in a
    # run would fail on Postgres; these rows are made again here, the hand-set one is kept
    config = postgres_storage / "dagster.yaml"
    config.write_text(config.read_text().replace("default_limit: 1", "default_limit: 2"))
    with dg.DagsterInstance.get() as instance:
        assert initialize_pools(instance) == ["bbref", "nba"]
        assert limits(instance) == {"bbref": (2, True), "nba": (2, True), "dbt": (3, False)}


def _windows(instance, run_id: str, start, end) -> dict[str, tuple[float, float]]:
    """step key (or the run) -> (start, end) wall-clock timestamps from the run's event log."""
    began, ended = {}, {}
    for entry in instance.all_logs(run_id, of_type={start, end}):
        event = entry.dagster_event
        key = event.step_key or "run"
        (began if event.event_type == start else ended)[key] = entry.timestamp
    return {key: (began[key], ended[key]) for key in began}


@needs_dagster
@pytest.mark.slow  # a `dbt parse`, then two `dagster` processes loading the definitions
@pytest.mark.parametrize("pools", ["limited", "unlimited"])
def test_two_runs_of_different_days_started_together_keep_the_request_rate(
    pools, request, bbref_site, db_url, engine, dagster_home, tmp_path, monkeypatch
):
    import dagster as dg

    from nba_elt.orchestration.dbt import prepared_project
    from nba_elt.orchestration.dev import initialize_pools

    if pools == "limited":
        # the pools `invoke dagster` writes, on the production storage (docs/orchestration.md):
        # Postgres locks the slot row; SQLite's claim is not atomic, and two steps claiming in
        # the same instant can both get the one slot. Else no pool limits anything.
        request.getfixturevalue("postgres_storage")
    spacing = 0.5
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", str(60 / spacing))
    prepared_project()  # the one dbt parse, so that the two processes start together
    with dg.DagsterInstance.get() as instance:
        # as `invoke dagster` does before its UI: the storage made (two runs at once would
        # race to create a SQLite one) and the pools' rows (two runs would race to insert them)
        assert initialize_pools(instance) == (["bbref", "nba", "dbt"] if pools == "limited" else [])
    if pools == "limited":
        # the runs must overlap for the pool to matter: the site answers its first request
        # (a source step holding the pool) once both runs have started, however slowly
        # either process starts on a loaded machine
        watcher = request.getfixturevalue("instance")
        started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
        bbref_site.hold_first_request(lambda: len(watcher.get_runs(started)) == 2, deadline=120)
    dagster = Path(sys.executable).parent / "dagster"
    # 2018-01-01: 4 games, its schedule then its box scores; 2018-04-12: no game, its schedule
    runs = {"2018-01-01": SCHEDULE_AND_BOXSCORES, "2018-04-12": "nba_source/schedule"}
    processes = [
        subprocess.Popen(
            [str(dagster), "asset", "materialize", "-m", "nba_elt.orchestration.dagster",
             "--select", selection, "--partition", day],
            cwd=ROOT,
            # one machine (NBA_ELT_STATE_DIR, DAGSTER_HOME), an archive each: both fetch
            env={**os.environ, "NBA_ELT_ARCHIVE_DIR": str(tmp_path / f"archive-{day}")},
            # files, not pipes: a run blocked on a full pipe would hold the pool's slot
            stdout=subprocess.DEVNULL, stderr=(tmp_path / f"{day}.log").open("w"),
        )
        for day, selection in runs.items()
    ]  # fmt: skip
    for day, process in zip(runs, processes, strict=True):
        assert process.wait(timeout=900) == 0, (tmp_path / f"{day}.log").read_text()[-3000:]

    assert _scalar(engine, "select count(*) from nba_source.boxscores") == 82
    games = "select count(*) from nba_source.schedule where game_date = '{}'"
    assert [_scalar(engine, games.format(day)) for day in runs] == [4, 0]

    # the site saw one stream: never two requests closer than the configured spacing
    arrivals = sorted(t for t, _ in bbref_site.arrivals)
    paths = {p for _, p in bbref_site.arrivals}
    assert {"/leagues/NBA_2018_games-january.html", "/leagues/NBA_2018_games-april.html"} <= paths
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) >= spacing - 0.1, gaps

    # without pools, the machine-wide request budget alone kept that spacing
    if pools == "unlimited":
        return
    # Dagster's pool: the runs overlapped, their source steps never did
    with dg.DagsterInstance.get() as instance:
        finished = instance.get_runs()
        assert sorted(r.tags["dagster/partition"] for r in finished) == sorted(runs)
        assert {r.status for r in finished} == {dg.DagsterRunStatus.SUCCESS}
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.event_log_storage.get_concurrency_info("bbref").slot_count == 1
        steps, whole = [], []
        for run in finished:
            steps += _windows(
                instance,
                run.run_id,
                dg.DagsterEventType.STEP_START,
                dg.DagsterEventType.STEP_SUCCESS,
            ).values()
            whole += _windows(
                instance, run.run_id, dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS
            ).values()
        (first, second) = sorted(whole)
        assert second[0] < first[1], "the two runs did not run at the same time"
        steps.sort()
        assert len(steps) == 3
        assert all(later[0] >= earlier[1] for earlier, later in zip(steps, steps[1:], strict=False))
