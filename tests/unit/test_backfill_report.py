"""Pure pieces of the backfill edge: exit-code precedence, the alert text, gaps scope."""

from __future__ import annotations

import datetime as dt

import pytest

from nba_elt.checks.gaps import DayGaps, GapReport, GapsRequest
from nba_elt.errors import BadInput
from nba_elt.ingest.runner import RunReport, UnitOutcome
from nba_elt.pipelines.steps import alert_text

DAY = dt.date(2018, 1, 1)


def _report(*statuses: str, stopped: str | None = None) -> RunReport:
    outcomes = [
        UnitOutcome(
            "pbp", f"20180101{i}XXX", DAY, status, error=None if status == "succeeded" else "boom"
        )
        for i, status in enumerate(statuses)
    ]
    return RunReport(run_id=7, outcomes=outcomes, stopped=stopped)


@pytest.mark.parametrize(
    ("statuses", "code", "status"),
    [
        (("succeeded", "skipped"), 0, "succeeded"),
        ((), 0, "succeeded"),
        (("succeeded", "not_available"), 75, "not_available"),
        (("not_available", "failed"), 1, "failed"),
        (("failed",), 1, "failed"),
    ],
)
def test_exit_code_precedence(statuses, code, status):
    report = _report(*statuses)
    assert report.exit_code == code and report.status == status


def test_units_not_run_after_a_403_fail_the_run():
    report = _report("succeeded")
    report.outcomes.append(
        UnitOutcome("pbp", "201801010TOR", DAY, "skipped", error="not run: the site answered 403")
    )
    assert report.exit_code == 1


def test_alert_names_the_units_and_the_resume_command():
    text = alert_text(_report("succeeded", "failed", "not_available"))
    assert "run 7" in text and "1 failed, 1 not available" in text
    assert "pbp 201801011XXX: failed (boom)" in text
    assert "pbp 201801012XXX: not_available (boom)" in text
    assert text.rstrip().endswith("Resume: invoke backfill --resume 7")


def test_alert_is_bounded():
    text = alert_text(_report(*(["failed"] * 50)))
    assert "... and 30 more" in text


def test_gaps_scope():
    request = GapsRequest.from_flags(season="2025")
    assert (request.scope, request.season) == ("season 2025", 2025)
    request = GapsRequest.from_flags(start="2018-01-01", end="2018-01-31")
    assert request.season is None and (request.first, request.last) == (DAY, dt.date(2018, 1, 31))
    for bad in ({"season": "twenty"}, {"season": "1900"}, {"season": "2018", "start": DAY}):
        with pytest.raises(BadInput):
            GapsRequest.from_flags(**bad)


def test_missing_units_per_source():
    day = DayGaps(
        DAY,
        games=2,
        missing_boxscores=["201801010TOR"],
        missing_pbp=["201801010TOR"],
        games_with_data=1,
    )
    report = GapReport("x", ("boxscores", "pbp"), 2, [day])
    assert report.missing_units() == [
        ("boxscores", "2018-01-01", DAY),
        ("pbp", "201801010TOR", DAY),
    ]
    assert not day.missing_entirely
    assert DayGaps(DAY, games=2, missing_pbp=["a", "b"]).missing_entirely
