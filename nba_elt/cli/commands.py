"""The task functions of cli/tasks.py: the task's flags in, a call of the public API
(`nba_elt.<function>`, which validates them), the result rendered (cli/render.py), a
TaskResult out. Also the rich progress bar of a backfill and the observer of a pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

import nba_elt
from nba_elt.cli import TaskResult, console
from nba_elt.cli.output import one_line
from nba_elt.cli.render import new_table, render
from nba_elt.config import get_settings
from nba_elt.errors import EXIT_OK
from nba_elt.results import Result
from nba_elt.warehouse import localdb

if TYPE_CHECKING:  # the runner imports pandas: not for a task that only renders
    from nba_elt.ingest.runner import UnitOutcome


class RichProgress:
    """On a terminal, a live bar on stderr: the unit in flight and the outcomes so far.
    Without one, a line per finished unit."""

    def __init__(self) -> None:
        self.live = console.is_terminal
        self.total = 0
        self.counts = {"succeeded": 0, "failed": 0, "not_available": 0, "skipped": 0}
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task_id = self.bar.add_task("starting", total=0, counts=self._counts_text())

    def __enter__(self) -> RichProgress:
        if self.live:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.bar.stop()

    def _counts_text(self) -> str:
        c = self.counts
        return (
            f"[green]{c['succeeded']} ok[/] [red]{c['failed']} failed[/] "
            f"[yellow]{c['not_available']} n/a[/] [dim]{c['skipped']} skipped[/]"
        )

    def add_total(self, count: int) -> None:
        self.total += count
        self.bar.update(self.task_id, total=self.total)

    def unit_started(self, unit: Any) -> None:
        self.bar.update(self.task_id, description=escape(f"{unit.source} {unit.unit_key}"))

    def unit_finished(self, outcome: UnitOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.bar.update(self.task_id, advance=1, counts=self._counts_text())
        if not self.live:
            o = outcome
            why = o.error or o.reason or ""
            line = (
                f"unit {sum(self.counts.values())}/{self.total}: {o.source} {o.unit_key} "
                f"{o.status}, {o.rows_written} rows, {o.seconds:.1f} s"
                + (f": {why}" if why else "")
            )
            console.print(escape(one_line(line)))


class RichObserver:
    """Prints a pipeline's steps as they run (nba_elt.pipelines.daily.StepObserver)."""

    def note(self, text: str) -> None:
        console.print(escape(text))

    def step_started(self, label: str, name: str) -> None:
        console.rule(f"[bold]{escape(label)}: {escape(name)}")

    def step_finished(self, outcome: Any, result: Result) -> None:
        render(result)
        style = "green" if result.exit_code == EXIT_OK else "red"
        console.print(f"[{style}]{escape(outcome.name)}:[/] {escape(result.message)}")

    def backfill_progress(self) -> Any:
        return RichProgress()


def _rendered(result: Result) -> TaskResult:
    render(result)
    return TaskResult.of(result)


def backfill_task(**flags: Any) -> TaskResult:
    """`invoke backfill`: plan and run (or, with dry_run, print the plan)."""
    return _rendered(nba_elt.backfill(progress=RichProgress(), **flags))


def refresh_task(**flags: Any) -> TaskResult:
    """`invoke refresh`: dbt build of what changed (or of --sources / --select / --full)."""
    return _rendered(nba_elt.refresh(**flags))


def predict_task(date: str | None = None, model_path: str | Path | None = None) -> TaskResult:
    """`invoke predict`: predict the date's games (default today, US Eastern)."""
    return _rendered(nba_elt.predict(date, model_path=model_path, as_result=True))


def train_task(**flags: Any) -> TaskResult:
    """`invoke train`: fit, evaluate, compare with the active model, write a candidate."""
    return _rendered(nba_elt.train(**flags))


def verify_task(**flags: Any) -> TaskResult:
    """`invoke verify`: every check for the date(s) and the predictions of the run date;
    with cross_provider, basketball-reference vs the NBA for --date's games."""
    return _rendered(nba_elt.verify(**flags))


def reboot_task(**flags: Any) -> TaskResult:
    """`invoke reboot-dashboard`: restart the dashboard's ECS service."""
    return _rendered(nba_elt.reboot_dashboard(**flags))


def gaps_task(**flags: Any) -> TaskResult:
    """`invoke gaps`: final games missing box scores or pbp; with fix, backfill them."""
    progress = RichProgress() if flags.get("fix") else None
    return _rendered(nba_elt.gaps(progress=progress, **flags))


def daily_task(**flags: Any) -> TaskResult:
    """`invoke daily`: backfill D, refresh, predict D + 1, verify D, reboot; one alert."""
    return TaskResult.of(nba_elt.daily(observer=RichObserver(), **flags))


def demo_task() -> TaskResult:
    """`invoke demo`: backfill -> refresh -> predict -> verify offline on recorded pages."""
    return TaskResult.of(nba_elt.demo(observer=RichObserver()))


def flags_task(enable: str | None = None, disable: str | None = None) -> TaskResult:
    """`invoke flags`: show and set nba_source.feature_flags."""
    changed, flags = nba_elt.feature_flags(enable=enable, disable=disable)
    columns = ("flag", "enabled", "description")
    table = new_table("nba_source.feature_flags", columns, title_justify="left")
    for f in flags:
        table.add_row(f.flag, "yes" if f.is_enabled else "no", f.description or "")
    console.print(table)
    enabled = [f.flag for f in flags if f.is_enabled]
    state = f"enabled: {', '.join(enabled) or 'none'}"
    if enable or disable:
        message = (f"changed {', '.join(changed)}; " if changed else "nothing to change; ") + state
    else:
        message = state
    return TaskResult(
        0,
        message,
        {"status": "succeeded", "changed": changed, "flags": [f.as_dict() for f in flags]},
    )


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))


def _print_models(models: list) -> None:
    table = Table(title="models (* = the one predict uses)", title_justify="left")
    for column in ("", "role", "version", "seasons", "games", "train acc", "test acc", "trained"):
        table.add_column(column, no_wrap=column in ("version", "trained"))
    for m in models:
        test = m.metrics.get("test_accuracy")
        test_text = f"{_fmt(test)} ({m.metrics.get('test_season')})" if test is not None else ""
        table.add_row(
            "*" if m.active else "",
            m.role,
            m.version,
            ",".join(str(s) for s in m.train_seasons),
            str(m.n_train),
            _fmt(m.metrics.get("train_accuracy")),
            test_text,
            m.trained_at[:16],
        )
    console.print(table)


def model_task(activate: str | None = None) -> TaskResult:
    """`invoke model`: list the models (ml/registry.py); with `activate` (shipped, candidate
    or a version) switch to it."""
    message = ""
    if activate:
        artifact = nba_elt.activate_model(activate)
        message = f"predict now uses model {artifact.version}" + (
            " (the shipped model)" if activate.strip() == "shipped" else ""
        )
    models = nba_elt.models()
    _print_models(models)
    active = next((m for m in models if m.active), None)
    if not message:
        where = f"{active.role} model {active.version}" if active else "no model"
        message = f"{len(models)} model(s); predict uses the {where}"
    return TaskResult(
        0,
        message,
        {
            "status": "succeeded",
            "active": active.version if active else None,
            "models": [m.as_dict() for m in models],
        },
    )


# `invoke db.*`. nba_elt.warehouse.db (SQLAlchemy) is imported only by the tasks that use it.


def up_task() -> TaskResult:
    from nba_elt.warehouse.db import redacted

    settings = get_settings()
    if not settings.uses_local_db:
        return TaskResult(
            message="NBA_ELT_DATABASE_URL is set; the embedded Postgres is not used "
            f"(warehouse: {redacted(settings.database_url)})",
            summary={"state": "not used", "url": redacted(settings.database_url)},
        )
    db = localdb.from_settings(settings)
    url = db.up()
    return TaskResult(
        message=f"local Postgres is up at {url} (data: {db.data_dir})",
        summary={"state": "running", "url": url, "data_dir": str(db.data_dir)},
        stdout=url,
    )


def down_task() -> TaskResult:
    stopped = localdb.from_settings(get_settings()).down()
    message = "local Postgres stopped" if stopped else "local Postgres was not running"
    return TaskResult(message=message, summary={"state": "stopped", "was_running": stopped})


def status_task() -> TaskResult:
    """The warehouse in use: connects, reports the server version and the migration level."""
    from nba_elt.warehouse.db import resolve_url
    from nba_elt.warehouse.status import probe

    settings = get_settings()
    local: dict = {}
    if settings.uses_local_db:
        local = localdb.from_settings(settings).status()
        if not local["running"]:
            return TaskResult(
                message=f"local Postgres stopped (data: {local['data_dir']}); "
                "`invoke db.up` starts it (any task starts it on demand)",
                summary={"connected": False, "local": local},
            )
    status = probe(resolve_url(settings))
    level = status.migration_level if status.migration_level is not None else "none"
    migrations = (
        f"migrations up to date ({level})"
        if status.up_to_date
        else f"migration level {level}, {len(status.pending)} pending: "
        f"{', '.join(status.pending)} (`invoke db.migrate`, or any task, applies them)"
    )
    where = "local Postgres running at" if local else "warehouse (NBA_ELT_DATABASE_URL)"
    return TaskResult(
        message=f"{where} {status.url}: PostgreSQL {status.server_version}, "
        f"database {status.database} as {status.user}; {migrations}",
        summary={"connected": True, **status.as_dict()} | ({"local": local} if local else {}),
    )


def migrate_task() -> TaskResult:
    from nba_elt.warehouse.db import display_url, get_engine
    from nba_elt.warehouse.schema import applied_versions, migrate

    engine = get_engine(migrate=False)
    applied = migrate(engine)
    versions = sorted(applied_versions(engine))
    url = display_url(engine.url)
    if applied:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        message = f"applied {len(applied)} migration(s): {names} on {url}"
    else:
        message = f"schema up to date (version {max(versions)}) on {url}"
    return TaskResult(
        message=message,
        summary={"applied": [m.version for m in applied], "versions": versions, "url": url},
        stdout=url,
    )
