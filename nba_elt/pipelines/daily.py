"""`invoke daily`: the morning pipeline in one command (the scheduler runs it at 12:00 UTC).

For date D (default: yesterday, US Eastern): backfill D (the sources enabled in
nba_source.feature_flags), backfill the schedule of D + 1 (the games to predict), refresh,
predict D + 1, verify D and the predictions of D + 1, reboot the dashboard (unless
--no-reboot), one Slack summary; docs/operations.md has the details. It stops at the first
step that does not succeed. When the site has not published D yet the backfill ends with
75, and so does daily. The steps' own alerts are folded into the one summary: they get
settings without the webhook, so they log their alert instead of posting it.

`daily()` never prints: a `StepObserver` (nba_elt.cli.commands has the rich one) is told when
each step starts and ends, with the step's result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from nba_elt.config import Settings, get_settings
from nba_elt.dates import parse_date, today_eastern, yesterday_eastern
from nba_elt.errors import EXIT_FAILED, EXIT_NOT_AVAILABLE, EXIT_OK, NbaEltError
from nba_elt.ingest.request import BackfillRequest, parse_provider
from nba_elt.results import Result, error_result, status_of

log = logging.getLogger(__name__)


@dataclass
class StepOutcome:
    name: str
    exit_code: int
    message: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "status": status_of(self.exit_code),
            "exit_code": self.exit_code,
            "message": self.message,
            "seconds": round(self.seconds, 1),
        }


class StepObserver(Protocol):
    """Follows a pipeline's steps (the CLI prints them; the default only logs)."""

    def note(self, text: str) -> None: ...

    def step_started(self, label: str, name: str) -> None: ...

    def step_finished(self, outcome: StepOutcome, result: Result) -> None: ...

    def backfill_progress(self) -> Any: ...


class LogObserver:
    def note(self, text: str) -> None:
        log.info(text)

    def step_started(self, label: str, name: str) -> None:
        log.info("%s: %s", label, name)

    def step_finished(self, outcome: StepOutcome, result: Result) -> None:
        log.info("%s: %s", outcome.name, outcome.message)

    def backfill_progress(self) -> Any:
        return None


def without_alerts(settings: Settings) -> Settings:
    """The steps' settings: they log their alerts instead of posting them."""
    return dataclasses.replace(settings, slack_webhook_url=None)


def run_steps(
    plan: list[tuple[str, Callable[[], Result]]], *, label: str, observer: StepObserver
) -> tuple[list[StepOutcome], list[Result]]:
    """Run the steps in order up to the first that does not succeed: named errors become
    its exit code; the observer sees each start and end."""
    outcomes, results = [], []
    for name, body in plan:
        observer.step_started(label, name)
        started = time.monotonic()
        try:
            result = body()
        except NbaEltError as exc:
            result = error_result(exc, status="error")
        outcome = StepOutcome(name, result.exit_code, result.message, time.monotonic() - started)
        observer.step_finished(outcome, result)
        outcomes.append(outcome)
        results.append(result)
        if not result.ok:
            break
    return outcomes, results


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
        head = f":x: nba-elt daily {day} on {host}: stopped at {steps[-1].name}"
    lines = [head]
    for step in steps:
        mark = {EXIT_OK: "ok", EXIT_NOT_AVAILABLE: "not available"}.get(step.exit_code, "FAILED")
        lines.append(f"- {step.name} ({mark}, {step.seconds:.0f} s): {step.message}")
    return "\n".join(lines)


def schedule_step(
    day: dt.date, offline: bool, settings: Settings | None = None, progress: Any = None
) -> Result:
    """Load the schedule of `day` (the games daily predicts) before the refresh builds them."""
    from nba_elt.pipelines.steps import backfill

    if day > today_eastern():
        # a backfill refuses future dates; the schedule of today (US Eastern) covers most
        # nights, and predict then says whether it knows the day
        return Result(
            EXIT_OK,
            f"{day} is after today (US Eastern): its schedule is left as loaded",
            {"skipped": "future date"},
        )
    request = BackfillRequest((day,), sources=("schedule",), offline=offline)
    return backfill(request, settings=settings, progress=progress)


def unpredicted_games(
    day: dt.date, settings: Settings | None = None
) -> tuple[list[str], list[str]]:
    """(games nba_source.schedule lists on the day, those without a prediction)."""
    from sqlalchemy import text

    from nba_elt.warehouse.db import get_engine

    with get_engine(settings).connect() as conn:
        rows = conn.execute(
            text(
                """
                select s.game_id, p.game_id is not null as predicted
                from nba_source.schedule s
                left join ml_models.ml_game_predictions p on p.game_id = s.game_id
                where s.game_date = :day and s.status <> 'postponed'
                order by s.game_id
                """
            ),
            {"day": day},
        ).all()
    return [r.game_id for r in rows], [r.game_id for r in rows if not r.predicted]


def predict_step(day: dt.date, settings: Settings | None = None) -> Result:
    """Predict the day; a failure when the schedule lists games on it that were not predicted."""
    from nba_elt.pipelines.steps import predict

    result = predict(day, settings)
    if result.exit_code != EXIT_OK:
        return result
    scheduled, missing = unpredicted_games(day, settings)
    if missing:
        return dataclasses.replace(
            result,
            exit_code=EXIT_FAILED,
            message=f"nba_source.schedule lists {len(scheduled)} game(s) on {day} but "
            f"{len(missing)} have no prediction ({', '.join(missing[:5])}); predict said: "
            f"{result.message}",
            summary={**result.summary, "unpredicted": missing},
        )
    return result


@dataclass
class DailyReport(Result):
    """The steps of a daily run, in order, each with its result; the alert sent."""

    date: dt.date | None = None
    steps: list[StepOutcome] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)


@dataclass(frozen=True)
class DailyRequest:
    """A validated daily run: the date D it ingests (D + 1 is predicted), and its options."""

    date: dt.date
    no_reboot: bool = False
    offline: bool = False
    provider: str = "auto"  # as for the backfill: bbref, nba or auto

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, date: str | dt.date | None = None,
        no_reboot: bool = False, offline: bool = False, provider: str | None = None,
    ) -> DailyRequest:  # fmt: skip
        """`invoke daily`'s flags (default: yesterday, US Eastern); BadInput (exit 2)."""
        provider = parse_provider(provider)
        day = parse_date(str(date)) if date else yesterday_eastern()
        return cls(day, bool(no_reboot), bool(offline), provider)


def daily(
    request: DailyRequest,
    *,
    settings: Settings | None = None,
    observer: StepObserver | None = None,
) -> DailyReport:
    """Backfill D, refresh, predict D + 1, verify D, reboot; one Slack summary."""
    day, offline, no_reboot = request.date, request.offline, request.no_reboot
    day_after = day + dt.timedelta(days=1)
    # bad settings are bad input before anything runs
    settings = settings or get_settings()
    observer = observer or LogObserver()
    observer.note(f"daily {day} (predicting {day_after}; offline={offline})")

    from nba_elt.checks.verify import VerifyRequest, verify
    from nba_elt.ops.dashboard import RebootRequest, reboot_dashboard
    from nba_elt.pipelines.steps import backfill, refresh
    from nba_elt.transform.dbt import RefreshRequest

    quiet = without_alerts(settings)
    plan: list[tuple[str, Callable[[], Result]]] = [
        (
            "backfill",
            lambda: backfill(
                BackfillRequest((day,), offline=offline, provider=request.provider),
                settings=quiet,
                progress=observer.backfill_progress(),
            ),
        ),
        (
            "schedule",
            lambda: schedule_step(day_after, offline, quiet, observer.backfill_progress()),
        ),
        # refresh builds what the ledger says changed, and always tonight's features
        ("refresh", lambda: refresh(RefreshRequest(run_date=day_after), settings=quiet)),
        ("predict", lambda: predict_step(day_after, quiet)),
        ("verify", lambda: verify(VerifyRequest((day,), run_date=day_after), settings=quiet)),
    ]
    if not no_reboot:
        reboot = RebootRequest.from_flags(quiet)
        plan.append(("reboot-dashboard", lambda: reboot_dashboard(reboot, settings=quiet)))
    steps, results = run_steps(plan, label="daily", observer=observer)
    exit_code = steps[-1].exit_code
    if exit_code == EXIT_NOT_AVAILABLE and len(steps) > 1:
        # 75 from a later step is not "data not available": it did not succeed
        exit_code = EXIT_FAILED

    from nba_elt.ops.alerts import send_alert

    alert = send_alert(settings, summary_text(day, steps, exit_code))
    summary = {
        "status": status_of(exit_code),
        "date": day.isoformat(),
        "predicted_date": day_after.isoformat(),
        "steps": [s.as_dict() for s in steps],
        "alert": alert.as_dict(),
    }
    if exit_code == EXIT_OK:
        skipped = " (dashboard not rebooted: --no-reboot)" if no_reboot else ""
        message = f"{day}: {', '.join(s.name for s in steps)} succeeded{skipped}"
    elif exit_code == EXIT_NOT_AVAILABLE:
        message = (
            f"the data of {day} is not available yet; nothing failed. Run later: "
            f"invoke backfill --date {day} --refresh --predict (or invoke daily --date {day})"
        )
    else:
        message = f"{day}: stopped at {steps[-1].name}: {steps[-1].message}"
    return DailyReport(exit_code, message, summary, date=day, steps=steps, results=results)
