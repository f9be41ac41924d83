"""What the dbt models serve: the predictions (ml_models/ml_game_predictions) and the
dashboard (the ECS service that re-reads the marts)."""

import os
from typing import Any

import dagster as dg

from nba_elt.orchestration.partitions import day_of

PREDICTIONS = dg.AssetKey(["ml_models", "ml_game_predictions"])
DASHBOARD = dg.AssetKey(["dashboard"])
# the features of day D are built by the dbt partition D - 1 (its run date is the day after)
TONIGHTS_GAMES = dg.AssetKey(["ml_models", "ml_tonights_games"])
# what the dashboard reads
MARTS = [
    dg.AssetKey(["marts", name])
    for name in ("team_game_results", "standings", "recent_games", "upcoming_games")
]


def predictions_asset(partitions: dg.PartitionsDefinition) -> Any:
    @dg.asset(
        key=PREDICTIONS,
        group_name="ml_models",
        description="The model's win probabilities for the day's games (nba_elt.predict).",
        partitions_def=partitions,
        deps=[
            dg.AssetDep(
                TONIGHTS_GAMES,
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1),
            )
        ],
        kinds={"scikitlearn", "postgres"},
    )
    def ml_game_predictions(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        import nba_elt

        day = day_of(context.partition_key)
        predictions = nba_elt.predict(day)
        metadata: dict[str, Any] = {"games": len(predictions)}
        if len(predictions):
            metadata["model_version"] = str(predictions["model_version"].iloc[0])
            metadata["predictions"] = dg.MetadataValue.md(_table(predictions))
        return dg.MaterializeResult(metadata=metadata)

    return ml_game_predictions


def _table(predictions: Any) -> str:
    rows = ["| game | away | home | home win |", "|---|---|---|---|"]
    for r in predictions.itertuples(index=False):
        rows.append(f"| {r.game_id} | {r.away_team} | {r.home_team} | {r.home_win_prob:.3f} |")
    return "\n".join(rows)


def dashboard_configured() -> bool:
    """A dashboard service named in the environment (NBA_ELT_ECS_SERVICE): the default name
    is the seed system's service, never restarted unless asked for."""
    from nba_elt.config import get_settings

    get_settings()  # reads .env into the environment, as every task does
    return bool((os.environ.get("NBA_ELT_ECS_SERVICE") or "").strip())


@dg.asset(
    key=DASHBOARD,
    group_name="serving",
    description=(
        "The dashboard's ECS service, restarted so it re-reads the marts "
        "(nba_elt.reboot_dashboard); skipped when NBA_ELT_ECS_SERVICE is not set."
    ),
    deps=MARTS,
    kinds={"ecs"},
)
def dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    if not dashboard_configured():
        context.log.info("no dashboard service configured (NBA_ELT_ECS_SERVICE): not restarted")
        return dg.MaterializeResult(metadata={"rebooted": False})
    import nba_elt

    result = nba_elt.reboot_dashboard()
    if result.exit_code != 0:
        raise dg.Failure(description=result.message, allow_retries=False)
    context.log.info(result.message)
    return dg.MaterializeResult(metadata={"rebooted": True, "message": result.message})
