"""The source assets nba_source/schedule, nba_source/boxscores, nba_source/pbp.

Materializing a partition is `nba_elt.backfill(date=day, sources=[source])`: the same
units, archive, page checks and ledger run as `invoke backfill --date day --sources source`.
Then `nba_elt.verify(day)` judges the day, and its checks that concern the source become
blocking asset checks: a day that fails them fails the step, so it never reaches dbt.

Outcomes: exit 0 materializes; exit 75 (the site has not published the day yet) fails
the step for the retry policy (hourly, bounded) to try again; a failed unit fails it for
good (no blind retry) with the unit's error.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from nba_elt.errors import EXIT_NOT_AVAILABLE, EXIT_OK
from nba_elt.orchestration.partitions import POOL_OF_PROVIDER, day_of

SOURCES = ("schedule", "boxscores", "pbp")
# basketball-reference publishes a night a few hours after its last game: try every hour
NOT_PUBLISHED_RETRY = dg.RetryPolicy(max_retries=6, delay=3600)

DESCRIPTIONS = {
    "schedule": "The games of the day (basketball-reference's month page, or the NBA's game log).",
    "boxscores": "Every player's box score of the day, checked against the final scores.",
    "pbp": "Every play-by-play event of the day's games, checked against the final scores.",
}


class SourceConfig(dg.Config):
    """Run options of a source partition (the `invoke backfill` flags of the same name)."""

    force: bool = False  # run units even when complete and final; fetch final pages again
    offline: bool = False  # read only the raw archive


# ---------------------------------------------------------------- verify -> checks


def _numbers(report: Any, name: str) -> tuple[Any, dict[str, Any]]:
    check = next(c for c in report.checks if c.name == name)
    return check, dict(check.numbers)


def _completeness(source: str, report: Any) -> tuple[bool, str, dict[str, Any]]:
    """verify's completeness, for what one source loads."""
    check, n = _numbers(report, "completeness")
    final = n.get("final_games", 0)
    if source == "schedule":
        # only judged after the day's schedule unit succeeded: its page proved the day's
        # games, so an empty day is not verify's "season not loaded"
        passed = not n.get("not_final_past_games") and not n.get("boxscore_games_not_in_schedule")
        if passed and not n.get("scheduled_games"):
            return True, "no games on the day (its schedule page proves it)", n
        return passed, check.detail, n
    if source == "boxscores":
        passed = n.get("with_boxscores_both_teams") == final and not n.get(
            "boxscore_games_not_in_schedule"
        )
        detail = f"{n.get('with_boxscores_both_teams')} of {final} final games have both teams' box scores"
        return passed, detail if passed else f"{detail}; verify: {check.detail}", n
    passed = n.get("with_pbp") == final
    detail = f"{n.get('with_pbp')} of {final} final games have play-by-play"
    return passed, detail if passed else f"{detail}; verify: {check.detail}", n


# what a consistency mismatch names for each source (nba_elt/checks/verify.py)
MISMATCH_OF = {"boxscores": "players' points", "pbp": "last play-by-play score"}


def _consistency(source: str, report: Any) -> tuple[bool, str, dict[str, Any]]:
    """verify's consistency (final score = players' points = last pbp score), the part one
    source can break; a mismatch of the other source is not this one's."""
    check, n = _numbers(report, "consistency")
    if check.passed:
        return True, check.detail, n
    mine = [part for part in check.detail.split("; ") if MISMATCH_OF[source] in part]
    unnamed = n.get("mismatches", 0) > len(check.detail.split("; "))  # verify lists 5 at most
    if mine or unnamed:
        return False, "; ".join(mine) or check.detail, n
    return True, f"no {MISMATCH_OF[source]} mismatch (verify: {check.detail})", n


CHECKS: dict[str, dict[str, Callable[[str, Any], tuple[bool, str, dict[str, Any]]]]] = {
    "schedule": {"completeness": _completeness},
    "boxscores": {"completeness": _completeness, "consistency": _consistency},
    "pbp": {"completeness": _completeness, "consistency": _consistency},
}


def check_results(source: str, report: Any) -> list[dg.AssetCheckResult]:
    results = []
    for name, judge in CHECKS[source].items():
        passed, detail, numbers = judge(source, report)
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=detail,
                metadata={k: v for k, v in numbers.items() if isinstance(v, int | str)},
            )
        )
    return results


# ---------------------------------------------------------------- the assets


def _metadata(result: Any, plan: dict[str, Any] | None, games: int) -> dict[str, Any]:
    summary = result.summary
    counts = summary.get("counts") or {}
    meta: dict[str, Any] = {
        "games": games,
        "rows_written": result.report.rows_written if result.report else 0,
        "ledger_run_id": result.run_id,
        "provider": summary.get("provider"),
        "units": dg.MetadataValue.json(counts),
        "message": result.message,
    }
    if summary.get("fell_back"):
        meta["fell_back"] = summary["fell_back"]
    if plan is not None:
        # from the dry run just before: pages the run needed, and how many the archive held
        meta["pages"] = plan.get("page_count", 0)
        meta["pages_from_archive"] = plan.get("pages_in_archive", 0)
        meta["pages_from_site"] = plan.get("page_count", 0) - plan.get("pages_in_archive", 0)
    return meta


def _failure_text(result: Any) -> str:
    failed = [u for u in result.units if u.status == "failed"]
    lines = [f"{u.source} {u.unit_key}: {u.error}" for u in failed]
    return "\n".join(lines) or result.message


def materialize_source(
    context: dg.AssetExecutionContext, source: str, provider: str, config: SourceConfig
) -> dg.MaterializeResult:
    import nba_elt

    day = day_of(context.partition_key)
    args: dict[str, Any] = {
        "date": day, "sources": [source], "provider": provider, "offline": config.offline,
        "force": config.force,
    }  # fmt: skip
    plan = nba_elt.backfill(**args, dry_run=True).plan
    result = nba_elt.backfill(**args)
    context.log.info(result.message)
    if result.exit_code == EXIT_NOT_AVAILABLE:
        # not published yet: the retry policy runs the step again in an hour
        raise dg.Failure(
            description=f"not available yet (exit 75), retried hourly: {result.message}",
            metadata={"ledger_run_id": result.run_id},
            allow_retries=True,
        )
    if result.exit_code != EXIT_OK:
        raise dg.Failure(
            description=_failure_text(result),
            metadata={"ledger_run_id": result.run_id, "message": result.message},
            allow_retries=False,
        )
    report = nba_elt.verify(day)
    games = _numbers(report, "completeness")[1].get("scheduled_games", 0)
    return dg.MaterializeResult(
        metadata=_metadata(result, plan, games), check_results=check_results(source, report)
    )


def source_asset(source: str, partitions: dg.PartitionsDefinition, provider: str) -> Any:
    key = dg.AssetKey(["nba_source", source])
    checks = [
        dg.AssetCheckSpec(name, asset=key, blocking=True, description=_CHECK_TEXT[name])
        for name in CHECKS[source]
    ]

    @dg.asset(
        key=key,
        group_name="nba_source",
        description=DESCRIPTIONS[source],
        partitions_def=partitions,
        deps=[] if source == "schedule" else [dg.AssetKey(["nba_source", "schedule"])],
        check_specs=checks,
        retry_policy=NOT_PUBLISHED_RETRY,
        pool=POOL_OF_PROVIDER[provider],
        kinds={"postgres"},
    )
    def load(context: dg.AssetExecutionContext, config: SourceConfig) -> dg.MaterializeResult:
        return materialize_source(context, source, provider, config)

    return load


_CHECK_TEXT = {
    "completeness": "verify's completeness: every final game of the day has this source's rows",
    "consistency": "verify's consistency: final score = players' points = last pbp score",
}


def source_assets(partitions: dg.PartitionsDefinition, provider: str) -> list[Any]:
    if provider not in POOL_OF_PROVIDER:
        raise ValueError(f"provider must be one of {', '.join(POOL_OF_PROVIDER)}, got {provider!r}")
    return [source_asset(source, partitions, provider) for source in SOURCES]
