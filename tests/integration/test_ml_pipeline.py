"""ml/ end to end on a real Postgres after a real dbt build of the product's own models.

Real results (a month of 2022-23 and two weeks of 2023-24, stats.nba.com game log) are loaded
with ml.history into nba_source.schedule; the games of 2022-11-15 are turned back into
scheduled games (no score) so that they are "tonight" for `run_date=2022-11-15`. One dbt
build is shared by the whole module.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ml.app import PredictRequest, run_predict
from ml.features import FeaturesNotReady, ScheduleMissing
from ml.history import load_schedule, read_team_games
from ml.model import DEFAULT_MODEL_PATH, ModelMismatch, load_model
from nba_elt.cli.commands import predict_task, train_task
from tests.conftest import TEMPLATE_DB, _admin_sql

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ml"
SEASON_2023 = FIXTURES / "nba_team_games_2022-10-18_2022-11-15.csv"
SEASON_2024 = FIXTURES / "nba_team_games_2023-10-24_2023-11-07.csv"
TONIGHT = dt.date(2022, 11, 15)


def _dbt_build(url: str, run_date: dt.date) -> None:
    """`dbt build --full-refresh` (what `invoke refresh --full` runs) for run_date, against url."""
    from nba_elt.transform.build import run_build

    with (
        tempfile.TemporaryDirectory(prefix="ml_dbt_") as scratch,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("NBA_ELT_DATABASE_URL", url)
        mp.setenv("NBA_ELT_DBT_TARGET_PATH", f"{scratch}/target")
        summary = run_build(full_refresh=True, vars={"run_date": str(run_date)})
    assert summary.ok, [(n.name, n.status, n.message) for n in summary.failed]


def _new_database(cluster, name: str) -> str:
    _admin_sql(cluster, f'drop database if exists "{name}" with (force)')
    _admin_sql(cluster, f'create database "{name}" template "{TEMPLATE_DB}"')
    return cluster.url(name)


def _schedule(*paths: Path) -> pd.DataFrame:
    games = pd.concat([read_team_games(p) for p in paths], ignore_index=True)
    tonight = games["game_date"] == TONIGHT
    games.loc[tonight, ["home_pts", "away_pts"]] = None
    games.loc[tonight, "status"] = "scheduled"
    return games.astype({"home_pts": "Int64", "away_pts": "Int64"})


@pytest.fixture(scope="module")
def warehouse(pg_cluster):
    """A database holding both fixture months, dbt-built for run_date = TONIGHT."""
    url = _new_database(pg_cluster, f"ml_pipeline_{os.getpid()}")
    engine = create_engine(url)
    load_schedule(engine, _schedule(SEASON_2023, SEASON_2024))
    _dbt_build(url, TONIGHT)
    yield url
    engine.dispose()
    _admin_sql(pg_cluster, f'drop database if exists "{make_url(url).database}" with (force)')


@pytest.fixture
def warehouse_engine(warehouse, monkeypatch):
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", warehouse)
    engine = create_engine(warehouse)
    with engine.begin() as conn:
        conn.execute(text("delete from ml_models.ml_game_predictions"))
    yield engine
    engine.dispose()


def _predictions(engine) -> pd.DataFrame:
    return pd.read_sql_query("select * from ml_models.ml_game_predictions order by game_id", engine)


def test_features_are_built_for_tonight_and_the_past(warehouse_engine):
    with warehouse_engine.connect() as conn:
        tonight = conn.execute(text("select count(*) from ml_models.ml_tonights_games")).scalar()
        dates = conn.execute(
            text("select distinct game_date from ml_models.ml_tonights_games")
        ).fetchall()
        past = conn.execute(text("select count(*) from ml_models.ml_past_games")).scalar()
    assert tonight == 5 and dates == [(TONIGHT,)]
    assert past == 210 - 5 + 103


def test_tonights_games_are_predicted_with_the_shipped_model(warehouse_engine):
    result = predict_task(date=str(TONIGHT))
    assert result.exit_code == 0
    assert result.summary["games"] == 5
    rows = _predictions(warehouse_engine)
    scheduled = pd.read_sql_query(
        text("select game_id, home_team, away_team from nba_source.schedule where game_date = :d"),
        warehouse_engine,
        params={"d": TONIGHT},
    )
    assert set(rows["game_id"]) == set(scheduled["game_id"])
    merged = rows.merge(scheduled, on="game_id", suffixes=("", "_schedule"))
    assert (merged["home_team"] == merged["home_team_schedule"]).all()
    assert rows["home_win_prob"].between(0.01, 0.99).all()
    assert (rows["home_win_prob"] + rows["away_win_prob"]).round(6).eq(1.0).all()
    assert rows["model_version"].eq(load_model(DEFAULT_MODEL_PATH).version).all()
    assert (rows["game_date"] == TONIGHT).all()


def test_predict_twice_gives_the_same_rows(warehouse_engine):
    predict_task(date=str(TONIGHT))
    first = _predictions(warehouse_engine)
    predict_task(date=str(TONIGHT))
    second = _predictions(warehouse_engine)
    columns = [c for c in first.columns if c != "predicted_at"]
    pd.testing.assert_frame_equal(first[columns], second[columns])
    assert (second["predicted_at"] >= first["predicted_at"]).all()


def test_a_date_without_games_exits_zero_and_writes_nothing(warehouse_engine):
    result = predict_task(date="2022-08-01")
    assert result.exit_code == 0
    assert "no games" in result.message
    assert _predictions(warehouse_engine).empty


def test_features_built_for_another_date_are_refused_when_told_not_to_build(warehouse_engine):
    with pytest.raises(FeaturesNotReady, match="stale") as err:
        # 2022-11-14 has games; the table holds 2022-11-15
        run_predict(PredictRequest(dt.date(2022, 11, 14)), build_features=False)
    assert "invoke refresh --run-date 2022-11-14" in str(err.value)
    assert _predictions(warehouse_engine).empty


def test_past_games_behind_the_schedule_are_refused(warehouse_engine):
    """A final game loaded after the last dbt build would be missing from the ratings."""
    late = (
        read_team_games(SEASON_2023)
        .iloc[[0]]
        .assign(game_id="202211140XXX", game_date=dt.date(2022, 11, 14))
    )
    load_schedule(warehouse_engine, late)
    try:
        with pytest.raises(FeaturesNotReady, match="ml_past_games is stale: 1 final game"):
            run_predict(PredictRequest(TONIGHT), build_features=False)
    finally:
        with warehouse_engine.begin() as conn:
            conn.execute(text("delete from nba_source.schedule where game_id = '202211140XXX'"))
    assert _predictions(warehouse_engine).empty


def test_a_model_trained_on_other_columns_is_refused(warehouse_engine, tmp_path):
    payload = json.loads(DEFAULT_MODEL_PATH.read_text())
    payload["table_columns"] = [c for c in payload["table_columns"] if c != "home_avg_margin"]
    payload["table_columns"].append("home_net_rating")
    path = tmp_path / "other.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ModelMismatch) as err:
        predict_task(date=str(TONIGHT), model_path=path)
    assert "home_avg_margin" in str(err.value) and "home_net_rating" in str(err.value)
    assert _predictions(warehouse_engine).empty


def test_a_date_whose_season_has_no_schedule_is_refused_without_a_build(db_url, engine):
    """A migrated warehouse with no schedule: nobody can tell whether the day has games."""
    with pytest.raises(ScheduleMissing, match="no game of the 2023 season") as err:
        predict_task(date=str(TONIGHT))
    assert "invoke backfill --date 2022-11-15 --sources schedule" in str(err.value)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from ops.refresh_runs")).scalar() == 0
        assert (
            conn.execute(text("select count(*) from ml_models.ml_game_predictions")).scalar() == 0
        )


def test_predict_builds_missing_then_stale_features_itself(db_url, engine, monkeypatch, tmp_path):
    """dbt never ran here: predict builds the features for the date, says so, predicts;
    then for another date with games it rebuilds them for that date."""
    monkeypatch.setenv("NBA_ELT_DBT_TARGET_PATH", str(tmp_path / "target"))
    load_schedule(engine, _schedule(SEASON_2023))

    first = predict_task(date=str(TONIGHT))

    assert first.exit_code == 0, first.message
    assert first.summary["games"] == 5
    assert first.message.startswith(
        "features for 2022-11-15 built first (ml_models.ml_tonights_games does not exist)"
    )
    built = first.summary["features_built"]
    assert built["selection"] == "everything"  # no refresh ever ran here
    with engine.connect() as conn:
        run = conn.execute(
            text("select status, run_date from ops.refresh_runs where id = :i"),
            {"i": built["refresh_run_id"]},
        ).one()
    assert run == ("succeeded", TONIGHT)

    again = predict_task(date=str(TONIGHT))  # fresh now: no build
    assert again.summary["features_built"] is None and again.summary["games"] == 5

    earlier = dt.date(2022, 11, 14)
    stale = predict_task(date=str(earlier))
    rebuilt = stale.summary["features_built"]
    assert "is stale" in rebuilt["reason"]
    assert rebuilt["selection"] == "ml_tonights_games+"  # nothing else changed since
    expected = pd.read_sql_query(
        text("select game_id from nba_source.schedule where game_date = :d order by 1"),
        engine,
        params={"d": earlier},
    )["game_id"].tolist()
    predicted = pd.read_sql_query(
        text("select game_id from ml_models.ml_game_predictions where game_date = :d order by 1"),
        engine,
        params={"d": earlier},
    )["game_id"].tolist()
    assert predicted == expected and len(expected) == stale.summary["games"] > 0


def test_train_and_evaluate_from_the_warehouse(warehouse_engine, tmp_path):
    output = tmp_path / "model.json"
    result = train_task(train_seasons="2023", test_season="2024", output=str(output))
    assert result.exit_code == 0
    summary = result.summary
    for key in (
        "accuracy",
        "log_loss",
        "brier",
        "n_test",
        "baseline_home_accuracy",
        "baseline_elo_accuracy",
    ):
        assert key in summary, key
    assert summary["n_test"] == 103
    assert 0 <= summary["accuracy"] <= 1 and summary["log_loss"] > 0
    model = load_model(output)
    assert model.train_seasons == [2023]
    assert model.n_train == 210 - 5
    assert model.metrics["test"]["model"]["n"] == 103
    # the freshly trained model predicts tonight's games too
    assert predict_task(date=str(TONIGHT), model_path=output).summary["games"] == 5


def test_train_writes_a_candidate_and_only_activate_makes_predict_use_it(
    warehouse_engine, tmp_path
):
    from ml import registry
    from nba_elt.cli.commands import model_task

    shipped = load_model(DEFAULT_MODEL_PATH)
    shipped_before = DEFAULT_MODEL_PATH.read_bytes()
    models = tmp_path / "models"  # NBA_ELT_MODEL_DIR (tests/conftest.py)

    candidate = train_task(train_seasons="2023")
    assert candidate.summary["model_path"] == str(models / "candidate.json")
    assert not (models / "current.json").exists()
    assert candidate.summary["activated"] is False
    # the shipped model learnt 2023 and 2024, the only seasons here: no fair race, and it says so
    compared = candidate.summary["compared_with_active"]
    assert compared["active"] == compared["active"] | {
        "version": shipped.version,
        "role": "shipped",
        "train_seasons": [2023, 2024],
    }
    assert compared["seasons"] == [] and "n" not in compared["candidate"]
    assert "not compared with the active model: no season of" in candidate.message
    assert "invoke model --activate" in candidate.message
    assert predict_task(date=str(TONIGHT)).summary["model_version"] == shipped.version

    activated = train_task(train_seasons="2023", activate=True)
    trained = load_model(models / "current.json")
    # active and candidate both learnt 2023 alone: compared on 2024, unseen by both
    fair = train_task(train_seasons="2023", test_season="2024").summary["compared_with_active"]
    assert fair["seasons"] == [2024] and fair["games"] == "unseen by both models"
    assert fair["candidate"]["n"] == fair["active"]["n"] == 103
    assert activated.summary["activated"] is True
    assert DEFAULT_MODEL_PATH.read_bytes() == shipped_before  # the package is never edited
    assert (
        predict_task(date=str(TONIGHT)).summary["model_version"]
        == trained.version
        != shipped.version
    )

    listed = model_task().summary
    assert listed["active"] == trained.version
    roles = {m["role"] for m in listed["models"]}
    assert {"active", "candidate", "shipped"} <= roles

    back = model_task(activate="shipped")
    assert back.summary["active"] == shipped.version
    assert not (models / "current.json").exists()
    assert predict_task(date=str(TONIGHT)).summary["model_version"] == shipped.version
    # and forth again, by version prefix, from the history
    model_task(activate=trained.version[:-3])
    assert registry.active_model()[0].version == trained.version


def test_train_refuses_too_few_games_unless_told(warehouse_engine, tmp_path):
    from nba_elt.errors import BadInput

    with pytest.raises(BadInput, match=r"only 103 completed game\(s\).*--min-games 103"):
        train_task(train_seasons="2024")
    assert not (tmp_path / "models").exists()  # nothing written
    result = train_task(train_seasons="2024", min_games=100)
    assert result.exit_code == 0 and result.summary["n_train"] == 103


def test_activating_an_unknown_model_is_bad_input(warehouse_engine):
    from nba_elt.cli.commands import model_task
    from nba_elt.errors import BadInput

    with pytest.raises(BadInput, match="no model 'nope'"):
        model_task(activate="nope")
    with pytest.raises(BadInput, match="no candidate model"):
        model_task(activate="candidate")


def test_train_refuses_a_season_the_warehouse_does_not_have(warehouse_engine, tmp_path):
    from nba_elt.errors import BadInput

    with pytest.raises(BadInput, match="2025"):
        train_task(train_seasons="2023", test_season="2025", output=str(tmp_path / "m.json"))
    assert not (tmp_path / "m.json").exists()


@pytest.fixture(scope="module")
def early_warehouse(pg_cluster):
    """Only the games before 2022-11-01, dbt-built: to compare with the full build."""
    url = _new_database(pg_cluster, f"ml_early_{os.getpid()}")
    engine = create_engine(url)
    games = _schedule(SEASON_2023)
    load_schedule(engine, games[games["game_date"] < dt.date(2022, 11, 1)])
    _dbt_build(url, TONIGHT)
    yield url
    engine.dispose()
    _admin_sql(pg_cluster, f'drop database if exists "{make_url(url).database}" with (force)')


def test_past_game_features_do_not_change_when_later_games_are_added(warehouse, early_warehouse):
    query = "select * from ml_models.ml_past_games order by game_id"
    early = pd.read_sql_query(query, create_engine(early_warehouse))
    full = pd.read_sql_query(query, create_engine(warehouse))
    assert len(early) > 100
    later = full[full["game_id"].isin(early["game_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(early, later, check_dtype=False)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env["NBA_ELT_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "nba_elt", "predict", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_exit_codes_and_json_line(warehouse_engine, warehouse):
    done = _cli(warehouse, "--date", str(TONIGHT))
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["games"] == 5 and line["exit_code"] == 0
    no_games = _cli(warehouse, "--date", "2022-08-01")
    assert no_games.returncode == 0
    assert json.loads(no_games.stdout.strip().splitlines()[-1])["games"] == 0
    unknown = _cli(warehouse, "--date", "2019-01-01")  # no schedule of 2018-19: nothing to build
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout.strip().splitlines()[-1])["error_type"] == "ScheduleMissing"
    bad = _cli(warehouse, "--date", "2022-13-40")
    assert bad.returncode == 2
