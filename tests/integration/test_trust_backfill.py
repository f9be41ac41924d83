"""Issue #11 end to end: backfills against tests/faulty_site.py (real recorded pages with
injected faults) and a real Postgres. Each test is one scenario of the issue's list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from nba_elt.cli.commands import backfill_task
from tests.faulty_site import Replace, Status, Truncate

DAILY = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
SCOREBOARD = "/boxscores/?month=1&day=1&year=2018"
JANUARY = "/leagues/NBA_2018_games-january.html"
DEN = "/boxscores/pbp/201901010DEN.html"
DEN_KEY = "boxscores/pbp/201901010DEN.html"


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _unit(result, source: str) -> dict:
    return next(u for u in result.summary["units"] if u["source"] == source)


def _archive(tmp_path) -> Path:
    return tmp_path / "archive"


def _quarantine(tmp_path) -> Path:
    return tmp_path / "archive.quarantine"


def _load_den_schedule(engine) -> None:
    """The real final of NYK @ DEN on 2019-01-01 (108-115) as nba_source.schedule holds it."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into nba_source.schedule (game_id, game_date, season, away_team, "
                "home_team, away_pts, home_pts, overtimes, status, game_type) values "
                "('201901010DEN', '2019-01-01', 2019, 'NYK', 'DEN', 108, 115, 0, 'final', "
                "'regular')"
            )
        )


@pytest.mark.parametrize("schedule_loaded", [False, True])
def test_a_truncated_pbp_page_fails_is_quarantined_and_a_plain_run_repairs_it(
    faulty_site, engine, tmp_path, schedule_loaded
):
    if schedule_loaded:
        _load_den_schedule(engine)
    faulty_site.fault(DEN, Truncate(0.6))
    first = backfill_task(games="201901010DEN", sources="pbp")
    unit = _unit(first, "pbp")
    assert first.exit_code == 1 and unit["status"] == "failed"
    assert "truncated" in unit["error"] and str(_quarantine(tmp_path)) in unit["error"]
    assert _count(engine, "select count(*) from nba_source.pbp") == 0
    assert (_quarantine(tmp_path) / DEN_KEY).is_file()
    assert not (_archive(tmp_path) / DEN_KEY).exists()

    faulty_site.heal()
    second = backfill_task(games="201901010DEN", sources="pbp")
    assert second.exit_code == 0 and _unit(second, "pbp")["rows_written"] == 472
    assert faulty_site.hits(DEN) == 2  # fetched again: the bad copy was never archived
    assert (_archive(tmp_path) / DEN_KEY).is_file()
    last = (
        "select away_score || '-' || home_score from nba_source.pbp order by event_idx desc limit 1"
    )
    assert _count(engine, last) == "108-115"


def test_force_with_a_truncated_page_never_replaces_a_complete_game(faulty_site, engine):
    assert backfill_task(games="201901010DEN", sources="pbp").exit_code == 0
    faulty_site.fault(DEN, Truncate(0.6))
    forced = backfill_task(games="201901010DEN", sources="pbp", force=True)
    assert forced.exit_code == 1 and faulty_site.hits(DEN) == 2  # --force asked the site
    assert _count(engine, "select count(*) from nba_source.pbp") == 472


def test_pbp_rows_of_an_unknown_shape_are_refused(faulty_site, engine):
    # every row gains a 7th cell (a synthetic re-shape of the real page)
    faulty_site.fault(DEN, Replace(b"</td>\n</tr>", b'</td><td class="center">1</td>\n</tr>'))
    result = backfill_task(games="201901010DEN", sources="pbp")
    assert result.exit_code == 1 and _unit(result, "pbp")["status"] == "failed"
    assert _count(engine, "select count(*) from nba_source.pbp") == 0


def test_a_pbp_page_whose_last_score_differs_from_its_scorebox_fails(faulty_site, engine):
    faulty_site.fault(
        DEN, Replace(b'<div class="score">115</div>', b'<div class="score">116</div>')
    )
    result = backfill_task(games="201901010DEN", sources="pbp")
    assert "scorebox's final is 108-116" in _unit(result, "pbp")["error"]
    assert _count(engine, "select count(*) from nba_source.pbp") == 0


@pytest.mark.parametrize("sources", ["boxscores", "schedule,boxscores"])
def test_a_truncated_daily_page_fails_with_or_without_the_schedule(faulty_site, engine, sources):
    faulty_site.fault(DAILY, Truncate(0.5))
    result = backfill_task(date="2018-01-01", sources=sources)
    assert result.exit_code == 1 and _unit(result, "boxscores")["status"] == "failed"
    assert _count(engine, "select count(*) from nba_source.boxscores") == 0


def test_daily_leaders_without_a_schedule_are_checked_against_the_scoreboard(faulty_site, engine):
    result = backfill_task(date="2018-01-01", sources="boxscores")
    assert result.exit_code == 0 and _unit(result, "boxscores")["rows_written"] == 82
    assert faulty_site.hits(SCOREBOARD) == 1 and faulty_site.hits(JANUARY) == 0
    # the same day with a scoreboard that disagrees: nothing is loaded unchecked
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores"))
    faulty_site.fault(
        SCOREBOARD, Replace(b'<td class="right">131</td>', b'<td class="right">130</td>')
    )
    again = backfill_task(date="2018-01-01", sources="boxscores", force=True)
    assert again.exit_code == 1
    assert "final score is 130" in _unit(again, "boxscores")["error"]
    assert _count(engine, "select count(*) from nba_source.boxscores") == 0


def test_schedule_pages_answering_404_fail_the_unit(faulty_site, engine):
    faulty_site.fault(JANUARY, Status(404))  # the season page is not recorded: 404 too
    result = backfill_task(date="2018-01-01", sources="schedule")
    assert result.exit_code == 1 and _unit(result, "schedule")["status"] == "failed"
    assert "could be read" in _unit(result, "schedule")["error"]


def test_a_drifted_page_then_a_fixed_site_is_repaired_by_resume_and_by_force(faulty_site, engine):
    drift = Replace(b'data-stat="pts" >52<', b'data-stat="pts" >50<')
    faulty_site.fault(DAILY, drift)
    first = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    assert _unit(first, "boxscores")["status"] == "failed"
    assert "TOR's players score 129" in _unit(first, "boxscores")["error"]
    faulty_site.heal()
    resumed = backfill_task(resume=str(first.summary["run_id"]))
    assert resumed.exit_code == 0 and _unit(resumed, "boxscores")["rows_written"] == 82
    assert faulty_site.hits(DAILY) == 2

    faulty_site.fault(DAILY, drift)
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores"))
    assert backfill_task(date="2018-01-01", sources="boxscores", force=True).exit_code == 1
    assert faulty_site.hits(DAILY) == 3  # --force asked the site although the page is archived
    faulty_site.heal()
    assert backfill_task(date="2018-01-01", sources="boxscores", force=True).exit_code == 0
    assert _count(engine, "select sum(pts) from nba_source.boxscores where team = 'TOR'") == 131


def test_a_damaged_archive_entry_is_fetched_again_online_and_named_offline(
    faulty_site, engine, tmp_path
):
    assert backfill_task(games="201901010DEN", sources="pbp").exit_code == 0
    meta = _archive(tmp_path) / (DEN_KEY + ".meta.json")
    meta.write_text('{"url": "http://x", "status": 2')  # a cut write
    forced = backfill_task(games="201901010DEN", sources="pbp", force=True, offline=True)
    assert forced.exit_code == 1
    error = _unit(forced, "pbp")["error"]
    assert str(meta) in error and "damaged" in error
    online = backfill_task(games="201901010DEN", sources="pbp", force=True)
    assert online.exit_code == 0 and faulty_site.hits(DEN) == 2
    assert json.loads(meta.read_text())["status"] == 200
    body = _archive(tmp_path) / DEN_KEY
    body.write_bytes(b"<html>\xff\xfe broken</html>")
    offline = backfill_task(games="201901010DEN", sources="pbp", force=True, offline=True)
    assert str(body) in _unit(offline, "pbp")["error"]
    assert "not UTF-8" in _unit(offline, "pbp")["error"]


def test_an_archive_path_that_is_a_file_stops_the_run_cleanly(
    faulty_site, engine, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", str(blocker))
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    assert result.exit_code == 1
    error = _unit(result, "schedule")["error"]
    assert "cannot write" in error and "NBA_ELT_ARCHIVE_DIR" in error
    assert _unit(result, "boxscores")["status"] == "skipped"  # terminal: the run stopped
    assert _count(engine, "select count(*) from nba_source.schedule") == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_429_forever_stops_the_run_after_two_requests(faulty_site, engine):
    for path in (JANUARY, DAILY, SCOREBOARD, DEN):
        faulty_site.fault(path, Status(429, {"Retry-After": "1"}))
    # --provider bbref: the client's stop, not the NBA fallback (test_nba_provider.py)
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores,pbp", provider="bbref")
    assert result.exit_code == 1
    assert sum(faulty_site.requests.values()) <= 8
    assert "429 twice in a row" in result.summary["stopped"]
    assert _unit(result, "boxscores")["status"] == "skipped"


def test_a_retry_after_over_the_cap_stops_the_run_with_exit_75(faulty_site, engine):
    faulty_site.fault(JANUARY, Status(429, {"Retry-After": "3600"}))
    # --provider bbref: the client's stop, not the NBA fallback (test_nba_provider.py)
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores", provider="bbref")
    assert result.exit_code == 75
    assert "Resume after" in result.summary["stopped"]
    assert "invoke backfill --resume" in result.message
    assert sum(faulty_site.requests.values()) == 1


def test_no_network_stops_the_run_at_once_with_one_clear_line(engine, monkeypatch):
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://www.basketball-reference.invalid")
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", "60000")
    # --provider bbref: the client's stop, not the NBA fallback (test_nba_provider.py)
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores,pbp", provider="bbref")
    assert result.exit_code == 1
    assert "stopped: cannot reach www.basketball-reference.invalid: name resolution failed at " in (
        result.message
    )
    statuses = [u["status"] for u in result.summary["units"]]
    assert statuses[0] == "failed" and set(statuses[1:]) == {"skipped"}


def test_a_dripping_daily_page_fails_its_unit_at_the_deadline_and_no_fallback_is_asked(
    faulty_site, engine, monkeypatch
):
    from tests.faulty_site import Drip

    monkeypatch.setenv("NBA_ELT_REQUEST_DEADLINE", "1")
    faulty_site.fault(DAILY, Drip(1024, 0.25))
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    unit = _unit(result, "boxscores")
    assert result.exit_code == 1 and unit["status"] == "failed"
    assert "NBA_ELT_REQUEST_DEADLINE" in unit["error"]
    assert faulty_site.hits(DAILY) == 1 and faulty_site.hits(DAILY + "&type=all") == 0
    assert _unit(result, "schedule")["status"] == "succeeded"  # a slow page is not terminal
