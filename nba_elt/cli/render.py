"""Rich renderings of the library's results, on stderr (stdout is for --json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from nba_elt.cli import console
from nba_elt.results import Result

if TYPE_CHECKING:
    from nba_elt.ingest.runner import RunReport

OUTCOME_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "not_available": "yellow",
    "skipped": "dim",
}


def print_plan(description: dict[str, Any]) -> None:
    """A backfill's dry-run plan."""
    from nba_elt.ingest.plan import site_path

    d = description
    what = (
        f"{len(d['dates'])} date(s) {d['dates'][0]} .. {d['dates'][-1]}"
        if d["dates"]
        else f"{len(d['games'])} game(s)"
    )
    console.print(f"[bold]Backfill plan[/] (dry run: nothing is written): {what}")
    console.print(f"  sources: {', '.join(d['sources'])}")
    console.print(
        f"  units: {d['unit_count']} ({d['to_run']} to run, "
        f"{d['unit_count'] - d['to_run']} already complete)"
    )
    console.print(
        f"  pages for the units to run: {d['page_count']}, {d['pages_in_archive']} already in the "
        f"raw archive, {d['page_count'] - d['pages_in_archive']} to fetch from the site"
    )
    if d["games"]:
        console.print(f"  games known: {len(d['games'])}")
    selection = d["dbt_selection"] or f"unknown ({d['dbt_selection_note']})"
    console.print(f"  dbt selection a --refresh would build: {escape(selection)}")
    for note in d["notes"]:
        console.print(f"  note: {escape(note)}")
    table = Table(title="units", show_lines=False)
    for column in ("source", "date/game", "pages", "in archive", "action"):
        table.add_column(column)
    for row in d["units"]:
        table.add_row(
            row["source"],
            row["unit_key"],
            escape(
                "\n".join(
                    site_path(url) + (" (archived)" if url in row["archived"] else "")
                    for url in row["pages"]
                )
            ),
            f"{row['pages_in_archive']} of {len(row['pages'])}",
            row["action"],
        )
    console.print(table)


# A run of more units than this shows the succeeded ones as one row per source: a table of
# hundreds of identical rows tells a person nothing and costs seconds to render.
UNITS_SHOWN_ONE_BY_ONE = 40


def print_run(report: RunReport) -> None:
    """A backfill run's units and their outcomes (every unit with --json / in the ledger)."""
    table = Table(title=f"backfill run {report.run_id}")
    for column in ("source", "date/game", "outcome", "rows", "seconds", "error / reason"):
        table.add_column(column, justify="right" if column in ("rows", "seconds") else "left")
    outcomes = report.outcomes
    grouped = len(outcomes) > UNITS_SHOWN_ONE_BY_ONE
    for source, units in _succeeded_by_source(outcomes).items() if grouped else ():
        keys = sorted(o.unit_key for o in units)
        table.add_row(
            source,
            f"{len(units)} units ({keys[0]} .. {keys[-1]})",
            f"[{OUTCOME_STYLE['succeeded']}]succeeded[/]",
            str(sum(o.rows_written for o in units)),
            f"{sum(o.seconds for o in units):.1f}",
            "",
        )
    for o in outcomes:
        if grouped and o.status == "succeeded":
            continue
        style = OUTCOME_STYLE.get(o.status, "")
        table.add_row(
            o.source,
            o.unit_key,
            f"[{style}]{o.status}[/]",
            str(o.rows_written),
            f"{o.seconds:.1f}",
            escape(o.error or o.reason or ""),
        )
    console.print(table)
    if grouped:
        console.print(
            f"  every unit's outcome: --json, or ops.backfill_units where run_id = {report.run_id}"
        )


def _succeeded_by_source(outcomes: list[Any]) -> dict[str, list[Any]]:
    by_source: dict[str, list[Any]] = {}
    for o in outcomes:
        if o.status == "succeeded":
            by_source.setdefault(o.source, []).append(o)
    return by_source


def print_dbt(summary: Any) -> None:
    """A dbt build's counts per kind, then its failures and warnings."""
    table = Table(title="dbt build", title_justify="left")
    for column in ("kind", "total", "pass", "warn", "fail/error", "skipped"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in ("seed", "model", "test", "unit_test"):
        nodes = [n for n in summary.nodes if n.kind == kind]
        if not nodes:
            continue
        table.add_row(
            kind,
            str(len(nodes)),
            str(sum(n.status in ("success", "pass") for n in nodes)),
            str(sum(n.status == "warn" for n in nodes)),
            str(sum(n.status in ("fail", "error", "runtime error") for n in nodes)),
            str(sum(n.status == "skipped" for n in nodes)),
        )
    console.print(table)
    for node in summary.failed:
        console.print(
            f"  [red]{node.status}[/] {node.kind} {escape(node.name)}: {escape(node.message)}"
        )
    for node in summary.warned:
        console.print(f"  [yellow]warn[/] {node.kind} {escape(node.name)}: {escape(node.message)}")
    if summary.log_path:
        console.print(f"dbt log: {escape(summary.log_path)}")


def print_checks(report: Any) -> None:
    """verify's checks, one row each with its numbers."""
    table = Table(title=f"verify {report.label}", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    table.add_column("numbers", overflow="fold", ratio=1)
    for check in report.checks:
        style = "green" if check.passed else "red"
        numbers = "\n".join(f"{k}={v}" for k, v in check.numbers.items())
        table.add_row(check.name, f"[{style}]{check.status}[/]", check.detail, numbers)
    console.print(table)


def print_predictions(result: Any) -> None:
    built = getattr(result, "features_built", None)
    if built is not None:
        console.print(f"features for {result.date} were not ready ({escape(built.reason)}): built")
        if built.refresh is not None and built.refresh.dbt is not None:
            print_dbt(built.refresh.dbt)
    predictions = result.summary.get("predictions") or []
    if not predictions:
        return
    table = Table(title=f"predictions for {result.date}")
    for column, justify in (("game", "left"), ("matchup", "left"), ("P(home win)", "right")):
        table.add_column(column, justify=justify)
    for row in predictions:
        table.add_row(row["game_id"], row["matchup"], f"{row['home_win_prob']:.3f}")
    console.print(table)


def print_gaps(result: Any) -> None:
    report = result.report
    if report is not None and report.final_games and report.gap_days:
        table = Table(title=f"gaps in {report.scope}")
        for column in ("date", "final games", "missing boxscores", "missing pbp", "note"):
            table.add_column(column)
        for day in report.gap_days:
            table.add_row(
                day.day.isoformat(),
                str(day.games),
                ", ".join(day.missing_boxscores) or "-",
                ", ".join(day.missing_pbp) or "-",
                "missing entirely" if day.missing_entirely else "",
            )
        console.print(table)
    if result.fix is not None:
        print_run(result.fix)


def print_reboot(result: Any) -> None:
    if result.summary.get("status") != "dry_run":
        return
    console.print(f"[bold]dry run[/] ({escape(result.target.describe())}); would call:")
    for call in result.calls:
        console.print(f"  {escape(call)}")


def train_tables(evaluation: dict[str, Any], test_season: int) -> list[Table]:
    scores = Table(title=f"Test season {test_season}: P(home win)")
    for column in ("predictor", "n", "accuracy", "log loss", "Brier"):
        scores.add_column(column, justify="right" if column != "predictor" else "left")
    labels = {"model": "model", "home_wins": "baseline: home team wins", "elo": "baseline: Elo"}
    for key, label in labels.items():
        s = evaluation[key]
        scores.add_row(
            label, str(s["n"]), f"{s['accuracy']:.3f}", f"{s['log_loss']:.3f}", f"{s['brier']:.3f}"
        )
    calibration = Table(title="Model calibration (bins of predicted P(home win))")
    for column in ("bin", "games", "mean predicted", "observed"):
        calibration.add_column(column, justify="right")
    for row in evaluation["model"]["calibration"]:
        calibration.add_row(
            row["bin"], str(row["n"]), f"{row['mean_predicted']:.3f}", f"{row['observed']:.3f}"
        )
    return [scores, calibration]


def print_train(result: Any) -> None:
    if result.evaluation:
        for table in train_tables(result.evaluation, result.test_season):
            console.print(table)
    if result.comparison:
        console.print(comparison_table(result.comparison))


def comparison_table(comparison: dict[str, Any]) -> Table:
    """The new model and the active one on the same games."""
    seasons = ",".join(str(s) for s in comparison["seasons"])
    table = Table(title=f"candidate vs active model, {comparison['games']} games of {seasons}")
    for column in ("model", "version", "n", "accuracy", "log loss", "Brier"):
        table.add_column(column, justify="left" if column in ("model", "version") else "right")
    for key in ("candidate", "active"):
        side = comparison[key]
        label = key if key == "candidate" else f"active ({side['role']})"
        if "accuracy" not in side:
            table.add_row(label, side["version"], "", "not comparable", "", "")
            continue
        table.add_row(
            label,
            side["version"],
            str(side["n"]),
            f"{side['accuracy']:.3f}",
            f"{side['log_loss']:.3f}",
            f"{side['brier']:.3f}",
        )
    return table


def print_backfill(result: Any) -> None:
    if result.plan is not None:
        print_plan(result.plan)
    if result.report is not None:
        print_run(result.report)
    for step in result.steps:
        render(step)


def print_refresh(result: Any) -> None:
    if result.dbt is not None:
        print_dbt(result.dbt)


# Each result type's printer, by the type's qualified name rather than by importing it: a
# refresh would otherwise import the backfill runner, pandas and scikit-learn (~4 s of
# `invoke refresh`) only to print its table. tests/unit/test_output.py checks the names.
RESULT_PRINTERS = {
    "nba_elt.ingest.backfill.BackfillResult": print_backfill,
    "nba_elt.transform.dbt.RefreshResult": print_refresh,
    "nba_elt.checks.verify.VerifyReport": print_checks,
    "ml.app.PredictResult": print_predictions,
    "nba_elt.checks.gaps.GapsResult": print_gaps,
    "nba_elt.ops.dashboard.RebootResult": print_reboot,
    "ml.train.TrainResult": print_train,
}


def render(result: Result) -> None:
    """Print what a result holds, by its type (a plain Result prints nothing)."""
    for cls in type(result).__mro__:
        printer = RESULT_PRINTERS.get(f"{cls.__module__}.{cls.__qualname__}")
        if printer is not None:
            printer(result)
            return
