"""Rich renderings of the library's results, on stderr (stdout is for --json)."""

from __future__ import annotations

from collections.abc import Collection
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


def new_table(
    title: str, columns: Collection[str], right: Collection[str] = (), **kwargs: Any
) -> Table:
    """A Table of these columns; those in `right` right-justified."""
    table = Table(title=title, **kwargs)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    return table


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
    table = new_table("units", ("source", "date/game", "pages", "in archive", "action"))
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
    columns = ("source", "date/game", "outcome", "rows", "seconds", "error / reason")
    table = new_table(f"backfill run {report.run_id}", columns, right=("rows", "seconds"))
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
    counts = ("total", "pass", "warn", "fail/error", "skipped")
    table = new_table("dbt build", ("kind", *counts), right=counts, title_justify="left")
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
    columns = ("game", "matchup", "P(home win)")
    table = new_table(f"predictions for {result.date}", columns, right=("P(home win)",))
    for row in predictions:
        table.add_row(row["game_id"], row["matchup"], f"{row['home_win_prob']:.3f}")
    console.print(table)


def print_gaps(result: Any) -> None:
    report = result.report
    if report is not None and report.final_games and report.gap_days:
        columns = ("date", "final games", "missing boxscores", "missing pbp", "note")
        table = new_table(f"gaps in {report.scope}", columns)
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


def _scores(s: dict[str, Any]) -> tuple[str, ...]:
    return (str(s["n"]), f"{s['accuracy']:.3f}", f"{s['log_loss']:.3f}", f"{s['brier']:.3f}")


def print_train(result: Any) -> None:
    """The test season's scores and calibration; the new model and the active one on the
    same games."""
    scores = ("n", "accuracy", "log loss", "Brier")
    if evaluation := result.evaluation:
        title = f"Test season {result.test_season}: P(home win)"
        table = new_table(title, ("predictor", *scores), right=scores)
        labels = {"model": "model", "home_wins": "baseline: home team wins", "elo": "baseline: Elo"}
        for key, label in labels.items():
            table.add_row(label, *_scores(evaluation[key]))
        console.print(table)
        columns = ("bin", "games", "mean predicted", "observed")
        table = new_table(
            "Model calibration (bins of predicted P(home win))", columns, right=columns
        )
        for row in evaluation["model"]["calibration"]:
            table.add_row(
                row["bin"], str(row["n"]), f"{row['mean_predicted']:.3f}", f"{row['observed']:.3f}"
            )
        console.print(table)
    if comparison := result.comparison:
        seasons = ",".join(str(s) for s in comparison["seasons"])
        title = f"candidate vs active model, {comparison['games']} games of {seasons}"
        table = new_table(title, ("model", "version", *scores), right=scores)
        for key in ("candidate", "active"):
            side = comparison[key]
            label = key if key == "candidate" else f"active ({side['role']})"
            cells = _scores(side) if "accuracy" in side else ("", "not comparable", "", "")
            table.add_row(label, side["version"], *cells)
        console.print(table)


def print_cross_provider(report: Any) -> None:
    columns = ("game", "final (bbref)", "final (NBA)", "players (bbref)", "players (NBA)")
    table = new_table(f"verify --cross-provider {report.date}", columns)
    for row in report.games:
        table.add_row(*(str(row[k] or "-") for k in row))
    console.print(table)
    for line in report.disagreements:
        console.print(f"[red]disagreement[/] {escape(line)}")


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
    "nba_elt.checks.cross_provider.CrossProviderReport": print_cross_provider,
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
