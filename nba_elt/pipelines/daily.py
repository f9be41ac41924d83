"""`invoke daily`: the morning pipeline in one command (the scheduler runs it at 12:00 UTC).

For date D (default: yesterday, US Eastern):

1. backfill D with the sources enabled in nba_source.feature_flags;
2. refresh: a dbt build of what changed (the sources the backfill wrote, plus whatever the
   refresh ledger says was written since the last successful refresh), and of
   ml_tonights_games for D + 1;
3. predict the games of D + 1;
4. verify D;
5. reboot the dashboard (unless --no-reboot);
6. one Slack summary.

It stops at the first step that does not succeed and says which. When the site has not
published D yet the backfill ends with 75: daily ends with 75 too, and the alert names
the `invoke backfill` command to run later. The steps' own alerts (a backfill alerts on
its own when run alone) are folded into this one summary: while daily runs them, they
log their alert instead of posting it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nba_elt.cli import TaskResult, console
from nba_elt.config import get_settings
from nba_elt.dates import parse_date, yesterday_eastern
from nba_elt.errors import EXIT_FAILED, EXIT_NOT_AVAILABLE, EXIT_OK, NbaEltError

log = logging.getLogger(__name__)

WEBHOOK_ENV = "NBA_ELT_SLACK_WEBHOOK_URL"


@dataclass
class StepOutcome:
    name: str
    exit_code: int
    message: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "exit_code": self.exit_code,
            "message": self.message,
            "seconds": round(self.seconds, 1),
        }


@contextlib.contextmanager
def _step_alerts_logged_only() -> Iterator[None]:
    """Steps log their alerts instead of posting them: daily sends one summary itself.

    An empty variable counts as unset in the settings, and a .env file never overrides a
    variable that exists, so this silences the webhook for the steps only.
    """
    previous = os.environ.get(WEBHOOK_ENV)
    os.environ[WEBHOOK_ENV] = ""
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(WEBHOOK_ENV, None)
        else:
            os.environ[WEBHOOK_ENV] = previous


def run_step(
    name: str, body: Callable[[], TaskResult], *, label: str = "daily"
) -> tuple[StepOutcome, TaskResult]:
    """Run one task function as a step: a rule, its result line, named errors as exit codes."""
    console.rule(f"[bold]{label}: {name}")
    started = time.monotonic()
    try:
        with _step_alerts_logged_only():
            result = body()
    except NbaEltError as exc:
        result = TaskResult(exc.exit_code, f"{type(exc).__name__}: {exc}", {"status": "error"})
    outcome = StepOutcome(name, result.exit_code, result.message, time.monotonic() - started)
    style = "green" if result.exit_code == EXIT_OK else "red"
    console.print(f"[{style}]{name}:[/] {result.message}")
    return outcome, result


def summary_text(day: dt.date, steps: list[StepOutcome], exit_code: int) -> str:
    """The one Slack message of a daily run."""
    host = socket.gethostname()
    if exit_code == EXIT_OK:
        head = f":white_check_mark: nba-elt daily {day} on {host}: all steps succeeded"
    elif exit_code == EXIT_NOT_AVAILABLE:
        head = (
            f":hourglass: nba-elt daily {day} on {host}: the data of {day} is not available "
            f"yet (nothing failed). Run later: invoke backfill --date {day} --refresh --predict "
            f"(or invoke daily --date {day})"
        )
    else:
        failed = steps[-1].name if steps else "?"
        head = f":x: nba-elt daily {day} on {host}: stopped at {failed}"
    lines = [head]
    for step in steps:
        mark = {EXIT_OK: "ok", EXIT_NOT_AVAILABLE: "not available"}.get(step.exit_code, "FAILED")
        lines.append(f"- {step.name} ({mark}, {step.seconds:.0f} s): {step.message}")
    return "\n".join(lines)


def daily_task(
    date: str | None = None,
    no_reboot: bool = False,
    offline: bool = False,
    provider: str | None = None,
) -> TaskResult:
    """Backfill D, refresh, predict D + 1, verify D, reboot; one Slack summary.

    provider: as for the backfill (bbref, nba, auto: the default).
    """
    from nba_elt.ingest.request import parse_provider

    provider = parse_provider(provider)
    day = parse_date(date) if date else yesterday_eastern()
    day_after = day + dt.timedelta(days=1)
    settings = get_settings()  # bad settings are bad input before anything runs
    console.print(f"[bold]daily {day}[/] (predicting {day_after}; offline={offline})")

    from ml.app import predict_task
    from nba_elt.checks.verify import verify_task
    from nba_elt.ingest.backfill import backfill_task
    from nba_elt.ops.dashboard import reboot_task
    from nba_elt.transform.dbt import refresh_task

    steps: list[StepOutcome] = []
    exit_code = EXIT_OK

    outcome, backfill = run_step(
        "backfill", lambda: backfill_task(date=day.isoformat(), offline=offline, provider=provider)
    )
    steps.append(outcome)
    exit_code = backfill.exit_code
    if exit_code == EXIT_OK:
        # refresh_task builds what the ledger says changed, and always tonight's features
        plan: list[tuple[str, Callable[[], TaskResult]]] = [
            ("refresh", lambda: refresh_task(run_date=day_after.isoformat())),
            ("predict", lambda: predict_task(date=day_after.isoformat())),
            ("verify", lambda: verify_task(date=day.isoformat())),
        ]
        if not no_reboot:
            plan.append(("reboot-dashboard", lambda: reboot_task()))
        for name, body in plan:
            outcome, result = run_step(name, body)
            steps.append(outcome)
            if result.exit_code != EXIT_OK:
                # 75 from a later step is not "data not available": it did not succeed
                exit_code = (
                    EXIT_FAILED if result.exit_code == EXIT_NOT_AVAILABLE else result.exit_code
                )
                break

    from nba_elt.ops.alerts import send_alert

    alert = send_alert(settings, summary_text(day, steps, exit_code))
    summary = {
        "status": {EXIT_OK: "succeeded", EXIT_NOT_AVAILABLE: "not_available"}.get(
            exit_code, "failed"
        ),
        "date": day.isoformat(),
        "predicted_date": day_after.isoformat(),
        "steps": [s.as_dict() for s in steps],
        "alert": alert.as_dict(),
    }
    if exit_code == EXIT_OK:
        skipped = " (dashboard not rebooted: --no-reboot)" if no_reboot else ""
        names = ", ".join(s.name for s in steps)
        return TaskResult(exit_code, f"{day}: {names} succeeded{skipped}", summary)
    if exit_code == EXIT_NOT_AVAILABLE:
        return TaskResult(
            exit_code,
            f"the data of {day} is not available yet; nothing failed. Run later: "
            f"invoke backfill --date {day} --refresh --predict (or invoke daily --date {day})",
            summary,
        )
    last = steps[-1]
    return TaskResult(exit_code, f"{day}: stopped at {last.name}: {last.message}", summary)
