"""nba_elt.transform's pure parts and the dbt project's conventions (no database, no dbt run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from nba_elt.errors import BadInput
from nba_elt.transform.build import profile_env
from nba_elt.transform.selection import SOURCE_SELECTORS, selection_for_sources
from nba_elt.transform.summary import DbtSummary, read_run_results

DBT = Path(__file__).resolve().parents[2] / "dbt"


def test_sources_map_to_their_fact_and_everything_downstream():
    assert selection_for_sources(["boxscores", "pbp"]) == "fact_boxscores+ fact_pbp_data+"
    assert selection_for_sources("pbp, schedule") == "fact_schedule_data+ fact_pbp_data+"
    assert selection_for_sources(["schedule", "schedule"]) == "fact_schedule_data+"
    assert set(SOURCE_SELECTORS) == {"schedule", "boxscores", "pbp"}


@pytest.mark.parametrize("sources", [["odds"], "boxscores,odds", [], ""])
def test_unknown_or_no_source_is_bad_input(sources):
    with pytest.raises(BadInput):
        selection_for_sources(sources)


def test_profile_env_puts_the_password_only_in_the_secret_variable():
    url = make_url("postgresql+psycopg2://ops:s3cret-pw@db.example:6543/warehouse?sslmode=require")
    env = profile_env(url, "prod")
    assert env == {
        "NBA_ELT_TARGET": "prod",
        "NBA_ELT_DBT_HOST": "db.example",
        "NBA_ELT_DBT_PORT": "6543",
        "NBA_ELT_DBT_USER": "ops",
        "NBA_ELT_DBT_DBNAME": "warehouse",
        "DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD": "s3cret-pw",
        "NBA_ELT_DBT_SSLMODE": "require",
    }


def test_run_results_are_read_with_plain_names(tmp_path):
    results = {
        "results": [
            {"unique_id": "model.nba_elt.fact_boxscores", "status": "success",
             "execution_time": 1.5, "message": "INSERT 0 82"},
            {"unique_id": "test.nba_elt.unique_fact_schedule_data_game_id.3b2c1a",
             "status": "pass", "execution_time": 0.1},
            {"unique_id": "test.nba_elt.assert_team_points_equal_player_points",
             "status": "fail", "execution_time": 0.2, "message": "Got 1 result", "failures": 1},
            {"unique_id": "unit_test.nba_elt.int_pregame_team_features.last10_counts",
             "status": "pass", "execution_time": 0.3},
            {"unique_id": "test.nba_elt.relationships_fact_pbp_data_game_id.9f8e",
             "status": "warn", "execution_time": 0.1},
        ]
    }  # fmt: skip
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))
    nodes = read_run_results(path)
    assert [(n.kind, n.name) for n in nodes] == [
        ("model", "fact_boxscores"),
        ("test", "unique_fact_schedule_data_game_id"),
        ("test", "assert_team_points_equal_player_points"),
        ("unit_test", "last10_counts"),
        ("test", "relationships_fact_pbp_data_game_id"),
    ]
    summary = DbtSummary(0, 2.0, None, False, nodes)
    assert (summary.models, summary.tests, summary.passed) == (1, 4, 3)
    assert not summary.ok  # a failing test fails the build even when dbt exits 0
    assert [n.name for n in summary.failed] == ["assert_team_points_equal_player_points"]
    assert [n.name for n in summary.warned] == ["relationships_fact_pbp_data_game_id"]
    assert summary.to_dict()["failures"][0]["message"] == "Got 1 result"


def test_profiles_read_only_environment_variables():
    profile = yaml.safe_load((DBT / "profiles.yml").read_text())["nba_elt"]
    assert set(profile["outputs"]) == {"dev", "prod"}
    for output in profile["outputs"].values():
        for key in ("host", "port", "user", "password", "dbname"):
            assert "env_var(" in str(output[key]), key
        assert "DBT_ENV_SECRET_" in output["password"]


def _models() -> list[Path]:
    return sorted((DBT / "models").rglob("*.sql"))


def test_every_model_has_its_own_yml_stating_its_grain_first():
    for sql in _models():
        spec = sql.with_suffix(".yml")
        assert spec.is_file(), f"{sql.name} has no {spec.name}"
        models = yaml.safe_load(spec.read_text())["models"]
        assert [m["name"] for m in models] == [sql.stem]
        assert models[0]["description"].strip().startswith("One row per"), sql.stem


def test_only_staging_reads_sources_and_layers_carry_their_prefix():
    prefixes = {"staging": "stg_", "facts": "fact_", "intermediate": "int_", "ml_models": "ml_"}
    for sql in _models():
        layer = sql.parent.name
        if layer in prefixes:
            assert sql.stem.startswith(prefixes[layer]), sql.stem
        if layer != "staging":
            assert "source(" not in sql.read_text(), f"{sql.stem} reads a source directly"
        assert re.search(r"select \* from final\s*$", sql.read_text()) or layer == "staging"


def test_ml_tables_have_exactly_the_documented_feature_columns():
    from ml.features import ID_COLUMNS, OUTCOME_COLUMNS, TABLE_FEATURE_COLUMNS

    macro = (DBT / "macros" / "ml_feature_columns.sql").read_text()
    body = macro[macro.index("{% macro ml_feature_columns() %}") :].split("%}", 1)[1]
    shared = [c.strip() for c in body.split("{%-")[0].split(",")]
    assert shared == ID_COLUMNS + TABLE_FEATURE_COLUMNS

    def final_columns(name: str) -> list[str]:
        text = (DBT / "models" / "ml_models" / f"{name}.sql").read_text()
        body = text[text.index("final as (") :]
        select = body[body.index("select") + 6 : body.index("from game_features")]
        select = select.replace("{{ ml_feature_columns() }}", ",\n".join(shared))
        return [c.split(" as ")[-1].strip() for c in select.split(",\n")]

    assert final_columns("ml_tonights_games") == ID_COLUMNS + TABLE_FEATURE_COLUMNS
    assert final_columns("ml_past_games") == ID_COLUMNS + TABLE_FEATURE_COLUMNS + OUTCOME_COLUMNS


def test_every_fact_key_is_held_by_a_unique_index():
    """The facts' keys have no unique test (a season-wide scan each refresh): their unique
    index rejects a duplicate while the model is built."""
    keys = {
        "fact_schedule_data": ["game_id"],
        "fact_boxscores": ["game_id", "player_id"],
        "fact_pbp_data": ["game_id", "event_idx"],
    }
    for name, key in keys.items():
        sql = (DBT / "models" / "facts" / f"{name}.sql").read_text()
        assert f"unique_key='{key[0]}'" in sql, name
        assert f"{{'columns': {key!r}, 'unique': True}}" in sql, name
