# ruff: noqa: F811  (pytest fixtures imported from tests.ecs_fixtures are used as parameters)
"""invoke daily against the recorded pages (offline archive), a real Postgres, a real dbt
build, a moto server for ECS and a local HTTP server standing in for the Slack webhook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from nba_elt.cli.commands import daily_task
from nba_elt.config import PROJECT_ROOT
from nba_elt.pipelines.demo import seed_archive
from tests.ecs_fixtures import ecs_service, moto_endpoint  # noqa: F401

DAY = "2018-01-01"


@pytest.fixture
def slack(httpserver, monkeypatch):
    """A local webhook; the posted messages are in httpserver.log."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("NBA_ELT_SLACK_WEBHOOK_URL", httpserver.url_for("/hook"))
    return httpserver


def posted(server) -> list[str]:
    return [json.loads(request.get_data())["text"] for request, _ in server.log]


@pytest.fixture
def archive():
    folder = os.environ["NBA_ELT_ARCHIVE_DIR"]
    seed_archive(folder)
    return folder


def pbp_off(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("update nba_source.feature_flags set is_enabled = false where flag = 'pbp'")
        )


@pytest.mark.slow
def test_daily_runs_every_step_and_reboots_the_dashboard(engine, archive, slack, ecs_service):
    pbp_off(engine)  # the recorded pages hold no play-by-play of 2018-01-01
    ecs, cluster, service = ecs_service["ecs"], ecs_service["cluster"], ecs_service["service"]
    before = ecs.describe_services(cluster=cluster, services=[service])["services"][0]

    result = daily_task(date=DAY, offline=True)

    assert result.exit_code == 0, result.message
    steps = [(s["step"], s["exit_code"]) for s in result.summary["steps"]]
    assert steps == [
        ("backfill", 0),
        ("schedule", 0),
        ("refresh", 0),
        ("predict", 0),
        ("verify", 0),
        ("reboot-dashboard", 0),
    ]
    assert result.summary["predicted_date"] == "2018-01-02"
    with engine.connect() as conn:
        scheduled = conn.execute(
            text("select game_id from nba_source.schedule where game_date = '2018-01-02'")
        ).scalars()
        predicted = conn.execute(
            text("select game_id from ml_models.ml_game_predictions where game_date = '2018-01-02'")
        ).scalars()
        assert sorted(predicted) == sorted(scheduled) != []  # every game of D + 1 predicted
    after = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    assert after["deployments"][0]["id"] != before["deployments"][0]["id"]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from facts.fact_boxscores")).scalar() == 82
    messages = posted(slack)
    assert len(messages) == 1
    assert messages[0].startswith(":white_check_mark: nba-elt daily 2018-01-01")
    assert "- reboot-dashboard (ok" in messages[0]


def _invoke_daily(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="250")
    return subprocess.run(
        [sys.executable, "-m", "invoke", "daily", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_data_not_published_yet_exits_75_with_one_alert_naming_the_backfill(engine, archive, slack):
    from nba_elt.config import get_settings
    from nba_elt.extract.archive import open_archive

    pbp_off(engine)
    # the daily leaders page as the site serves it before the box scores are up
    open_archive(archive, get_settings()).put(
        "/friv/dailyleaders.fcgi?month=1&day=1&year=2018",
        "<html><body><h1>Daily Leaders</h1><p>No games played on this date.</p></body></html>",
        200,
    )

    done = _invoke_daily(["--date", DAY, "--offline", "--json"])

    assert done.returncode == 75, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert [s["step"] for s in summary["steps"]] == ["backfill"]
    assert "invoke backfill --date 2018-01-01" in done.stderr
    messages = posted(slack)
    assert len(messages) == 1  # the backfill's own alert is folded into daily's summary
    assert "not available yet" in messages[0]
    assert "Run later: invoke backfill --date 2018-01-01" in messages[0]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 0


def test_daily_stops_at_the_first_failing_step_and_says_which(engine, slack):
    # offline with an empty archive: the backfill cannot read its pages
    result = daily_task(date=DAY, offline=True, no_reboot=True)

    assert result.exit_code == 1
    assert result.message.startswith("2018-01-01: stopped at backfill:")
    assert [s["step"] for s in result.summary["steps"]] == ["backfill"]
    messages = posted(slack)
    assert len(messages) == 1 and messages[0].startswith(":x: nba-elt daily 2018-01-01")
    assert "stopped at backfill" in messages[0]


def test_bad_date_is_exit_2_before_anything_runs(db_url):
    done = _invoke_daily(["--date", "2018-02-30"])
    assert done.returncode == 2
    assert "--date must be a date as YYYY-MM-DD" in done.stderr


def test_unpredicted_games_are_the_scheduled_ones_without_a_prediction(engine):
    """The check behind daily's predict step, on the real 2018-01-02 slate (recorded page)."""
    from nba_elt.pipelines.daily import unpredicted_games
    from nba_elt.sources.schedule import parse_schedule
    from nba_elt.warehouse.load import upsert
    from tests.conftest import FIXTURES

    page = FIXTURES / "bbref" / "schedule" / "NBA_2018_games-january.html"
    frame = parse_schedule(page.read_text())
    day = frame["game_date"].min().replace(day=2)
    with engine.begin() as conn:
        upsert(conn, "schedule", frame[frame["game_date"] == day])
        first = conn.execute(
            text("select game_id from nba_source.schedule order by game_id limit 1")
        ).scalar()
        conn.execute(
            text(
                "insert into ml_models.ml_game_predictions (game_id, game_date, home_team, "
                "away_team, home_win_prob, away_win_prob, model_version) select game_id, "
                "game_date, home_team, away_team, 0.5, 0.5, 'test' from nba_source.schedule "
                "where game_id = :g"
            ),
            {"g": first},
        )

    scheduled, missing = unpredicted_games(day)

    assert len(scheduled) == 5 and first in scheduled
    assert missing == [g for g in scheduled if g != first]
