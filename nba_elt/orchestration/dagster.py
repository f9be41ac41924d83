"""nba-elt as Dagster definitions: `dagster dev -m nba_elt.orchestration.dagster`.

Every asset is partitioned by game day (partitions.py): the source assets load a day
through `nba_elt.backfill` (sources.py), the dbt project is two asset definitions split at
the predictions (dbt.py), the predictions and the dashboard follow (serving.py). The
morning schedule (12:00 UTC) materializes yesterday's sources and dbt models; when that
run succeeds, a sensor materializes today's predictions, the models that show them and
the dashboard. docs/orchestration.md.

Settings: nba_elt's environment (docs/architecture.md), plus NBA_ELT_DAGSTER_FIRST_DAY
(the first partition) and NBA_ELT_DAGSTER_PROVIDER (bbref / nba / auto, the sources'
provider; it also names their concurrency pool).
"""

import datetime as dt
import os

import dagster as dg

from nba_elt.orchestration.dbt import build_dbt_assets, dbt_resource, prepared_project
from nba_elt.orchestration.partitions import TIMEZONE, game_days
from nba_elt.orchestration.serving import dashboard, predictions_asset
from nba_elt.orchestration.sources import source_assets

PROVIDER_ENV = "NBA_ELT_DAGSTER_PROVIDER"
MORNING_SCHEDULE = "morning"


def _yesterday_of(moment: dt.datetime) -> str:
    from zoneinfo import ZoneInfo

    return (moment.astimezone(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=1)).isoformat()


def build_defs(first_day: dt.date | None = None, provider: str | None = None) -> dg.Definitions:
    """The definitions; `first_day` and `provider` default to the environment's."""
    partitions = game_days(first_day)
    provider = provider or (os.environ.get(PROVIDER_ENV) or "auto").strip()
    project = prepared_project()
    sources = source_assets(partitions, provider)
    dbt_core, dbt_after_predictions = build_dbt_assets(project, partitions)
    predictions = predictions_asset(partitions)

    game_day_data = dg.define_asset_job(
        "game_day_data",
        selection=dg.AssetSelection.assets(*sources, dbt_core),
        description="A game day's sources, checked, then the dbt models up to the features.",
    )
    game_day_serving = dg.define_asset_job(
        "game_day_serving",
        selection=dg.AssetSelection.assets(predictions, dbt_after_predictions, dashboard),
        description="A day's predictions, the models that show them, the dashboard restart.",
    )

    @dg.schedule(
        name=MORNING_SCHEDULE,
        job=game_day_data,
        cron_schedule="0 12 * * *",
        execution_timezone="UTC",
        description="12:00 UTC: yesterday's (US Eastern) sources and dbt models.",
    )
    def morning(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = _yesterday_of(context.scheduled_execution_time)
        return dg.RunRequest(run_key=day, partition_key=day)

    @dg.run_status_sensor(
        name="after_the_morning_run",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[game_day_data],
        request_job=game_day_serving,
        description="When the morning run succeeded: today's predictions, then the dashboard.",
    )
    def after_the_morning_run(
        context: dg.RunStatusSensorContext,
    ) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        if run.tags.get("dagster/schedule_name") != MORNING_SCHEDULE:
            return dg.SkipReason(f"run {run.run_id} was not started by the morning schedule")
        day = dt.date.fromisoformat(run.tags["dagster/partition"]) + dt.timedelta(days=1)
        return dg.RunRequest(run_key=f"serving-{day}", partition_key=day.isoformat())

    return dg.Definitions(
        assets=[*sources, dbt_core, predictions, dbt_after_predictions, dashboard],
        jobs=[game_day_data, game_day_serving],
        schedules=[morning],
        sensors=[after_the_morning_run],
        resources={"dbt": dbt_resource(project)},
    )


defs = build_defs()
