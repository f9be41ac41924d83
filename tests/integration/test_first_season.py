"""Dates before the league's first season (1946-47) are bad input: exit 2, nothing written."""

from __future__ import annotations

import json
import time

from sqlalchemy import text

from tests.integration.test_backfill_cli import _env, _invoke
from tests.recorded_site import RecordedSite


def test_a_backfill_from_1900_is_bad_input_at_once(httpserver, db_url, engine, tmp_path):
    env = _env(RecordedSite(httpserver), db_url, tmp_path / "archive")
    started = time.monotonic()
    done = _invoke(
        ["backfill", "--start", "1900-01-01", "--end", "2018-01-01", "--yes", "--dry-run",
         "--json"],
        env,
    )  # fmt: skip
    assert time.monotonic() - started < 60  # it planned 43k days for 15 minutes
    assert done.returncode == 2, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "bad_input"
    assert "--start 1900-01-01 is before the first NBA season (1946-47" in summary["message"]
    with engine.connect() as conn:
        runs = conn.execute(text("select to_regclass('ops.backfill_runs') is not null")).scalar()
        if runs:
            assert conn.execute(text("select count(*) from ops.backfill_runs")).scalar() == 0
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").iterdir())


def test_the_first_season_itself_is_accepted():
    from nba_elt.dates import FIRST_DATE, FIRST_SEASON, parse_date, season_of

    assert season_of(parse_date("1946-11-01")) == FIRST_SEASON == 1947
    assert season_of(FIRST_DATE) == FIRST_SEASON
