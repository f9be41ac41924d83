"""The dbt project (dbt/) as Dagster assets, through dagster-dbt.

Two asset definitions split the project where the predictions come back in: everything
up to the features (`core`), and what reads `ml_models.ml_game_predictions` (the view
stg_ml__game_predictions and the upcoming_games mart, `after_predictions`). So the graph is
nba_source/* -> staging, facts, marts, ml_models -> ml_models/ml_game_predictions (the
predictions asset) -> staging/stg_ml__game_predictions -> marts/upcoming_games: no cycle.

A build covers a window of game days (one partition or a backfill's range, in one dbt
build): the incremental facts rebuild exactly the games of those days and their tests
look at those games only (vars game_days_from / game_days_until; dbt/macros/game_window.sql).
The "tonight" models are built for the day after the window (the core; what the morning
run predicts), the after-predictions models for the window's first day (the day whose
predictions they show).

The manifest is parsed when the definitions load, into `<DAGSTER_HOME>/dbt-target`, and
only when the project changed since (a run worker's import reuses it).
"""

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from nba_elt.config import PROJECT_ROOT, Settings, get_settings
from nba_elt.orchestration.dev import dagster_home
from nba_elt.orchestration.partitions import DBT_POOL

DBT_DIR = PROJECT_ROOT / "dbt"
PREDICTIONS_SOURCE = ("ml_models", "ml_game_predictions")
AFTER_PREDICTIONS = "stg_ml__game_predictions+"


@contextlib.contextmanager
def environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """os.environ with `values` set (None: removed) inside the block, as it was after.

    dagster-dbt starts dbt with a copy of os.environ and has no other way in; the block is
    only the start of the dbt process, never a step's whole run.
    """
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def profile_env(settings: Settings, *, with_password: bool = True) -> dict[str, str | None]:
    """The variables dbt/profiles.yml reads, for the warehouse of `settings`.

    Without the password (parsing needs none) nothing connects: the embedded Postgres is
    not started for a parse. The URL and the webhook are kept from dbt's environment."""
    from sqlalchemy.engine import make_url

    env: dict[str, str | None] = {
        "NBA_ELT_TARGET": settings.target,
        "NBA_ELT_DATABASE_URL": None,
        "NBA_ELT_SLACK_WEBHOOK_URL": None,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if with_password:
        from nba_elt.warehouse.db import get_engine

        url = get_engine(settings).url
    elif settings.database_url:
        url = make_url(settings.database_url)
    else:
        return env
    query = dict(url.query)
    env |= {
        "NBA_ELT_DBT_HOST": str(url.host or query.get("host") or "127.0.0.1"),
        "NBA_ELT_DBT_PORT": str(url.port or query.get("port") or 5432),
        "NBA_ELT_DBT_USER": url.username or "postgres",
        "NBA_ELT_DBT_DBNAME": url.database or "postgres",
    }
    if query.get("sslmode"):
        env["NBA_ELT_DBT_SSLMODE"] = str(query["sslmode"])
    if with_password:
        # DBT_ENV_SECRET_*: dbt scrubs the value from its logs and its target/ files
        env["DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD"] = url.password or str(
            query.get("password") or ""
        )
    return env


def _project_files_newest() -> float:
    files = [DBT_DIR / "dbt_project.yml", DBT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        files += [p for p in (DBT_DIR / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files)


def dbt_executable() -> str:
    """The dbt installed beside this Python (a virtual environment not activated), else PATH's."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())


def target_dir() -> Path:
    """dbt's target folder for Dagster: the manifest, and a folder per build (its logs too)."""
    return dagster_home() / "dbt-target"


def prepared_project(settings: Settings | None = None) -> DbtProject:
    """The dbt project with a manifest no older than its files (`dbt parse` when needed;
    one process parses at a time, the others wait and reuse its manifest)."""
    project = DbtProject(project_dir=DBT_DIR, target_path=target_dir())
    manifest = project.manifest_path
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _project_files_newest():
            with environ(profile_env(settings or get_settings(), with_password=False)):
                parse = dbt_resource(project).cli(
                    ["parse", "--quiet"], target_path=project.target_path
                )
                parse.wait()
    return project


def _is_predictions(props: Mapping[str, Any]) -> bool:
    return (
        props.get("resource_type") == "source"
        and (props.get("source_name"), props.get("name")) == PREDICTIONS_SOURCE
    )


class NbaEltTranslator(DagsterDbtTranslator):
    """dagster-dbt's keys (sources: nba_source/<table>; models: <schema>/<name>), and, for
    the models after the predictions, the day before on every other dbt parent: partition D
    of upcoming_games shows D's games from the facts built up to D - 1."""

    def __init__(self, after_predictions: bool = False) -> None:
        super().__init__()
        self.after_predictions = after_predictions

    def get_partition_mapping(
        self, dbt_resource_props: Mapping[str, Any], dbt_parent_resource_props: Mapping[str, Any]
    ) -> dg.PartitionMapping | None:
        parent = dbt_parent_resource_props
        if not self.after_predictions or _is_predictions(parent):
            return None
        if parent.get("resource_type") in ("model", "seed", "snapshot") and parent.get(
            "name"
        ) not in ("stg_ml__game_predictions", "upcoming_games"):
            return dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
        return None


def window_vars(context: dg.AssetExecutionContext, *, run_date_is_end: bool) -> dict[str, str]:
    """The dbt vars of a build: the partitions' game days and the run date."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    run_date: dt.date = end if run_date_is_end else start
    return {
        "game_days_from": start.isoformat(),
        "game_days_until": end.isoformat(),
        "run_date": run_date.isoformat(),
    }


def _build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, *, run_date_is_end: bool
) -> Iterator[Any]:
    dbt_vars = window_vars(context, run_date_is_end=run_date_is_end)
    context.log.info(f"dbt build for game days {dbt_vars}")
    # DBT_TARGET_PATH: dagster-dbt makes each build's folder in it (else in dbt/target)
    with environ(profile_env(get_settings()) | {"DBT_TARGET_PATH": str(target_dir())}):
        invocation = dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context)
    yield from invocation.stream()


def build_dbt_assets(
    project: DbtProject, partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """The two dbt asset definitions (before and after the predictions)."""
    common: dict[str, Any] = {
        "manifest": project.manifest_path,
        "project": project,
        "partitions_def": partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": DBT_POOL,
    }

    @dbt_assets(
        name="dbt_core", exclude=AFTER_PREDICTIONS, dagster_dbt_translator=NbaEltTranslator(),
        **common,
    )  # fmt: skip
    def dbt_core(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from _build(context, dbt, run_date_is_end=True)

    @dbt_assets(
        name="dbt_after_predictions",
        select=AFTER_PREDICTIONS,
        dagster_dbt_translator=NbaEltTranslator(after_predictions=True),
        **common,
    )
    def dbt_after_predictions(
        context: dg.AssetExecutionContext, dbt: DbtCliResource
    ) -> Iterator[Any]:
        yield from _build(context, dbt, run_date_is_end=False)

    return [dbt_core, dbt_after_predictions]
