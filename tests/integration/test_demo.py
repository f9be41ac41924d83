"""invoke demo end to end (a real dbt build), then invoke verify on what it built.

The demo runs on the session's test cluster (NBA_ELT_LOCALDB_DIR/PORT point at it), in its
own database nba_elt_demo: nothing is shared with a developer's local Postgres.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from nba_elt.cli.commands import demo_task
from nba_elt.config import PROJECT_ROOT
from nba_elt.pipelines.demo import DEMO_DATABASE
from tests.conftest import use_only_this_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(pg_cluster, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        use_only_this_cluster(mp, pg_cluster)
        result = demo_task()
        # the demo restores the environment it changed for its steps
        assert "NBA_ELT_DATABASE_URL" not in os.environ
    url = pg_cluster.url(DEMO_DATABASE)
    yield result, url


def _invoke_verify(url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(NBA_ELT_DATABASE_URL=url, COLUMNS="250")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "invoke",
            "verify",
            "--date",
            "2018-01-01",
            "--run-date",
            "2018-01-01",
            "--json",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_demo_passes_every_step(demo):
    result, url = demo
    assert result.exit_code == 0, result.message
    steps = [s["step"] for s in result.summary["steps"]]
    assert steps[0] == "backfill 2018-01-01 (schedule, boxscores)"
    assert steps[-1] == "verify 2018-01-01"
    assert all(s["exit_code"] == 0 for s in result.summary["steps"])
    assert "the demo covers 2018-01-01 (4 games" in result.message


def test_demo_loaded_the_real_night_and_predicted_it(demo):
    _, url = demo
    engine = create_engine(url)
    with engine.connect() as conn:
        scores = dict(
            conn.execute(
                text(
                    "select home_team, home_pts from facts.fact_schedule_data "
                    "where game_date = '2018-01-01'"
                )
            ).all()
        )
        derozan = conn.execute(
            text("select pts from facts.fact_boxscores where player_id = 'derozde01'")
        ).scalar()
        pbp_games = conn.execute(
            text("select count(distinct game_id) from nba_source.pbp")
        ).scalar()
        probabilities = (
            conn.execute(
                text("select home_win_prob + away_win_prob from ml_models.ml_game_predictions")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert scores == {"TOR": 131, "CHI": 120, "MIN": 114, "BKN": 98}
    assert derozan == 52
    assert pbp_games == 3
    assert len(probabilities) == 4 and all(abs(p - 1) < 1e-9 for p in probabilities)


def test_invoke_verify_passes_then_names_the_check_after_a_deleted_box_score(demo):
    _, url = demo
    passed = _invoke_verify(url)
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout.splitlines()[-1])["failed"] == []

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores where player_id = 'derozde01'"))
    engine.dispose()

    failed = _invoke_verify(url)
    assert failed.returncode == 1
    summary = json.loads(failed.stdout.splitlines()[-1])
    assert summary["failed"] == ["consistency", "freshness"]
    assert "failed consistency, freshness" in failed.stderr
    assert "players' points 127-79" in failed.stderr
    assert "Traceback" not in failed.stderr
