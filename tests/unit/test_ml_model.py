"""The model artifact (ml/model.py): round trip, the feature check, the shipped model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml.elo import EloParams
from ml.features import MODEL_FEATURES, TABLE_FEATURE_COLUMNS
from ml.model import DEFAULT_MODEL_PATH, ModelArtifact, ModelMismatch, build_pipeline, load_model
from ml.train import parse_seasons
from nba_elt.errors import BadInput


def _fitted_artifact() -> tuple[ModelArtifact, pd.DataFrame, object]:
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(200, len(MODEL_FEATURES))), columns=MODEL_FEATURES)
    y = (x["elo_diff"] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    pipeline = build_pipeline().fit(x, y)
    artifact = ModelArtifact.from_pipeline(
        pipeline,
        features=MODEL_FEATURES,
        table_columns=TABLE_FEATURE_COLUMNS,
        train_seasons=[2023],
        n_train=200,
        elo=EloParams(),
        metrics={"train": {"n": 200}},
    )
    return artifact, x, pipeline


def test_json_artifact_predicts_exactly_like_the_sklearn_pipeline(tmp_path):
    artifact, x, pipeline = _fitted_artifact()
    path = artifact.save(tmp_path / "model.json")
    loaded = load_model(path)
    assert loaded.version == artifact.version
    np.testing.assert_allclose(
        loaded.predict_home_prob(x), pipeline.predict_proba(x)[:, 1], rtol=1e-9
    )


def test_artifact_carries_what_it_was_trained_on(tmp_path):
    artifact, _, _ = _fitted_artifact()
    payload = json.loads(artifact.save(tmp_path / "m.json").read_text())
    for key in ("version", "features", "table_columns", "train_seasons", "metrics", "libraries"):
        assert payload[key], key
    assert payload["train_seasons"] == [2023]
    assert {"scikit-learn", "numpy", "python"} <= set(payload["libraries"])
    assert payload["version"].startswith("logreg-2023-")


def test_mismatched_table_columns_are_refused_naming_the_difference():
    artifact, _, _ = _fitted_artifact()
    artifact.check_table_columns(list(TABLE_FEATURE_COLUMNS), "t")  # same columns: accepted
    columns = [c for c in TABLE_FEATURE_COLUMNS if c != "home_avg_margin"] + ["home_elo"]
    with pytest.raises(ModelMismatch) as err:
        artifact.check_table_columns(columns, "ml_models.ml_tonights_games")
    assert "home_avg_margin" in str(err.value)
    assert "home_elo" in str(err.value)


def test_mismatched_model_features_are_refused():
    artifact, x, _ = _fitted_artifact()
    with pytest.raises(ModelMismatch, match="expects features"):
        artifact.predict_home_prob(x[list(reversed(MODEL_FEATURES))])


def test_missing_or_foreign_artifact_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no model"):
        load_model(tmp_path / "absent.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(BadInput, match="not a"):
        load_model(tmp_path / "other.json")


def test_the_shipped_model_matches_the_feature_contract():
    model = load_model(DEFAULT_MODEL_PATH)
    assert model.features == MODEL_FEATURES
    assert model.table_columns == TABLE_FEATURE_COLUMNS
    assert model.train_seasons == [2023, 2024]
    assert model.n_train == 2460


@pytest.mark.parametrize(
    ("value", "expected"), [("2023,2024", [2023, 2024]), ("2024", [2024]), (None, [])]
)
def test_parse_seasons(value, expected):
    assert parse_seasons(value, flag="--train-seasons") == expected


@pytest.mark.parametrize("value", ["2023-24", "abc", "23"])
def test_parse_seasons_refuses_anything_else(value):
    with pytest.raises(BadInput):
        parse_seasons(value, flag="--train-seasons")
