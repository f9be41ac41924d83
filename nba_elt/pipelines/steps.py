"""The steps the pipelines compose, one function each (daily, demo, `backfill --refresh
--predict` and nba_elt.backfill all run these):

    backfill()   ingest (nba_elt.ingest.backfill.run_backfill), then what follows a run:
                 its alert, and with refresh / predict the refresh and predictions of
                 what it wrote
    refresh()    nba_elt.transform.dbt.refresh
    predict()    ml.app.run_predict: the one place nba_elt imports ml
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import TYPE_CHECKING, Any

from nba_elt.config import Settings, get_settings
from nba_elt.errors import EXIT_FAILED, EXIT_OK, NbaEltError
from nba_elt.ingest.backfill import BackfillResult, run_backfill
from nba_elt.ingest.request import BackfillRequest
from nba_elt.ingest.runner import RunReport
from nba_elt.results import Result, error_result
from nba_elt.transform.dbt import RefreshRequest, refresh
from nba_elt.transform.selection import TONIGHT_SELECTOR

if TYPE_CHECKING:
    from ml.app import PredictRequest

log = logging.getLogger(__name__)

__all__ = ["alert_text", "backfill", "predict", "refresh"]

MAX_UNITS_IN_ALERT = 20
TONIGHT_MODEL = TONIGHT_SELECTOR.rstrip("+")


def predict(request: PredictRequest | dt.date | None, settings: Settings | None = None) -> Result:
    """The predictions of a PredictRequest, or of a day (today without one): ml.app.run_predict
    (a PredictResult)."""
    from ml.app import PredictRequest, run_predict

    if not isinstance(request, PredictRequest):
        request = PredictRequest(request)
    return run_predict(request, settings=settings)


def backfill(
    request: BackfillRequest, *, settings: Settings | None = None, progress: Any = None
) -> BackfillResult:
    """A backfill (run_backfill), then its alert when units failed or it
    fell back to another provider, and with refresh (and predict) the refresh of the
    sources it wrote (and the predictions of the dates it touched)."""
    settings = settings or get_settings()
    result = run_backfill(request, settings=settings, progress=progress)
    report = result.report
    if report is None:  # a dry run, or a resume with nothing left to run
        return result
    summary = result.summary
    if report.exit_code != EXIT_OK or report.fell_back:
        from nba_elt.ops.alerts import send_alert

        summary["alert"] = send_alert(settings, alert_text(report)).as_dict()
    if report.args.get("refresh"):
        if report.counts()["failed"] or report.stopped:
            result.message += "; refresh not run because units failed"
        else:
            code, notes = _refresh_and_predict(report, settings, result)
            result.message += "; " + "; ".join(notes)
            if code == EXIT_FAILED or (code and result.exit_code == EXIT_OK):
                result.exit_code = code
    summary.pop("exit_code", None)
    summary["exit_code"] = result.exit_code
    return result


def alert_text(report: RunReport) -> str:
    """The Slack message for a run with failed or not-available units."""
    c = report.counts()
    lines = [
        f"{':warning:' if report.exit_code != EXIT_OK else ':information_source:'} "
        f"nba-elt backfill run {report.run_id} on {socket.gethostname()}: "
        f"{c['failed']} failed, {c['not_available']} not available, "
        f"{c['succeeded']} succeeded, {c['skipped']} skipped"
    ]
    if report.stopped:
        lines.append(f"Stopped: {report.stopped}")
    if report.fell_back:
        lines.append(f"Provider fallback: {report.fell_back}")
    bad = [o for o in report.outcomes if o.status in ("failed", "not_available") or o.error]
    for o in bad[:MAX_UNITS_IN_ALERT]:
        lines.append(
            f"- {o.source} {o.unit_key}: {o.status}" + (f" ({o.error})" if o.error else "")
        )
    if len(bad) > MAX_UNITS_IN_ALERT:
        lines.append(f"... and {len(bad) - MAX_UNITS_IN_ALERT} more (see ops.backfill_units)")
    if report.exit_code != EXIT_OK:
        lines.append(f"Resume: {report.resume_command}")
    return "\n".join(lines)


def _call(step: str, fn: Any, **kwargs: Any) -> Result:
    """Run a step; its named errors become a result, as the CLI makes them."""
    try:
        return fn(**kwargs)
    except NbaEltError as exc:
        return error_result(exc, step)


def _refresh_and_predict(
    report: RunReport, settings: Settings, result: BackfillResult
) -> tuple[int, list[str]]:
    """dbt refresh of the sources the run wrote; with predict, predictions per date touched.

    The refresh builds ml_tonights_games for the first date touched; each further date
    rebuilds only that model (run_date = the date) before its predictions. Each step's
    result goes to result.steps (the CLI renders them), its outcome to result.summary.
    """
    sources, dates = report.touched()
    if not sources:
        return EXIT_OK, ["refresh: nothing was written, nothing to refresh"]
    with_predict = bool(report.args.get("predict"))
    first = dates[0] if with_predict and dates else None
    log.info("refresh: dbt build for %s", ",".join(sources))
    request = RefreshRequest(tuple(sources), run_date=first)
    refreshed = _call("refresh", refresh, request=request, settings=settings)
    result.steps.append(refreshed)
    result.summary["refresh"] = {"exit_code": refreshed.exit_code, "message": refreshed.message}
    notes = [f"refresh ({', '.join(sources)}): {refreshed.message or refreshed.exit_code}"]
    if refreshed.exit_code != EXIT_OK or not with_predict:
        return refreshed.exit_code, notes
    worst = EXIT_OK
    result.summary["predict"] = []
    for index, day in enumerate(dates):
        outcome = None
        if index:
            request = RefreshRequest(select=TONIGHT_MODEL, run_date=day)
            outcome = _call(f"features for {day}", refresh, request=request, settings=settings)
            result.steps.append(outcome)
        if outcome is None or outcome.exit_code == EXIT_OK:
            outcome = _call(f"predict {day}", predict, request=day, settings=settings)
            result.steps.append(outcome)
        result.summary["predict"].append(
            {"date": day.isoformat(), "exit_code": outcome.exit_code, "message": outcome.message}
        )
        notes.append(f"predict {day}: {outcome.message or outcome.exit_code}")
        if outcome.exit_code == EXIT_FAILED or (outcome.exit_code and worst == EXIT_OK):
            worst = outcome.exit_code
    return worst, notes
