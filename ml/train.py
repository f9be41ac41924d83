"""Fit the game-winner model on ml_models.ml_past_games; evaluate it against two baselines.

    invoke train [--train-seasons 2023,2024] [--test-season 2025] [--activate]
                 [--min-games N] [--output PATH] [--json]

A model fitted on fewer than MIN_TRAIN_GAMES games is refused unless --min-games says
otherwise (on a handful of games every probability comes out the same). The new model is a
candidate (NBA_ELT_MODEL_DIR/candidate.json, ml/registry.py) compared with the active one on
the same games of a season neither was trained on (or not at all, saying why); only
--activate makes predict use it.

Elo ratings are computed over the WHOLE ordered history in ml_past_games (every game counts
toward later games' ratings, training seasons or not); rows are then split by season.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.elo import EloParams
from ml.features import (
    MODEL_FEATURES,
    PAST_TABLE,
    feature_columns_of,
    model_matrix,
    read_past_games,
    with_pregame_elo,
)
from ml.metrics import score
from ml.model import ModelArtifact, ModelMismatch, build_pipeline
from ml.registry import active_model, save_trained
from nba_elt.config import Settings
from nba_elt.dates import FIRST_SEASON
from nba_elt.errors import BadInput
from nba_elt.results import Result

log = logging.getLogger(__name__)

# A sixth of a regular season: below it the six coefficients are mostly noise.
MIN_TRAIN_GAMES = 200


def parse_seasons(value: str | int | None, *, flag: str) -> list[int]:
    """'2023,2024' -> [2023, 2024]; a season is the year it ends (2022-23 -> 2023)."""
    if value is None or value == "":
        return []
    seasons = []
    for part in str(value).split(","):
        part = part.strip()
        if not part.isdigit() or not FIRST_SEASON <= int(part) <= 2100:
            raise BadInput(f"{flag}: {part!r} is not a season (the year it ends, e.g. 2024)")
        seasons.append(int(part))
    return sorted(set(seasons))


def evaluate(
    train_rows: pd.DataFrame, test_rows: pd.DataFrame, model_prob: np.ndarray
) -> dict[str, Any]:
    """The model's scores on the test rows and the baselines' (home team wins; plain Elo)."""
    y = test_rows["home_win"].to_numpy(dtype=int)
    home_rate = float(train_rows["home_win"].mean())
    return {
        "model": score(y, model_prob),
        "home_wins": score(y, np.full(len(y), home_rate)),
        "elo": score(y, test_rows["elo_home_prob"].to_numpy(dtype=float)),
    }


def fit(
    past: pd.DataFrame,
    train_seasons: list[int],
    test_season: int | None = None,
    params: EloParams | None = None,
    *,
    min_games: int = MIN_TRAIN_GAMES,
) -> tuple[ModelArtifact, dict[str, Any] | None]:
    """Fit on the train seasons' rows; evaluate on the test season's if given.

    BadInput when the train seasons hold fewer than `min_games` completed games.
    """
    params = params or EloParams()
    rated = with_pregame_elo(past, params)
    available = sorted(int(s) for s in rated["season"].unique())
    if not train_seasons:
        train_seasons = [s for s in available if s != test_season]
    absent = [
        s for s in train_seasons + ([test_season] if test_season else []) if s not in available
    ]
    if absent:
        raise BadInput(
            f"{PAST_TABLE} has no games for season(s) {absent} (it has {available or 'none'}); "
            "load them into nba_source.schedule and run `invoke refresh --full`"
        )
    if test_season in train_seasons:
        raise BadInput(f"the test season {test_season} is also a training season")
    train_rows = rated[rated["season"].isin(train_seasons)]
    if len(train_rows) < min_games:
        raise BadInput(
            f"only {len(train_rows)} completed game(s) in {PAST_TABLE} for season(s) "
            f"{train_seasons}; a model needs at least {min_games} (a sixth of a season) to "
            "learn anything. Load more results (python -m ml.history, invoke backfill) and "
            f"`invoke refresh --full`, or pass --min-games {len(train_rows)} to fit it anyway"
        )
    if train_rows["home_win"].nunique() < 2:
        raise BadInput(
            f"the {len(train_rows)} training game(s) all have the same winner (home or away); "
            "a model cannot be fitted on them"
        )
    pipeline = build_pipeline().fit(model_matrix(train_rows), train_rows["home_win"].astype(int))
    evaluation = None
    metrics: dict[str, Any] = {
        "train": score(
            train_rows["home_win"], pipeline.predict_proba(model_matrix(train_rows))[:, 1]
        )
    }
    if test_season:
        test_rows = rated[rated["season"] == test_season]
        prob = pipeline.predict_proba(model_matrix(test_rows))[:, 1]
        evaluation = evaluate(train_rows, test_rows, prob)
        metrics["test_season"] = test_season
        metrics["test"] = evaluation
    table_columns = feature_columns_of(list(past.columns))
    artifact = ModelArtifact.from_pipeline(
        pipeline,
        features=MODEL_FEATURES,
        table_columns=table_columns,
        train_seasons=train_seasons,
        n_train=len(train_rows),
        elo=params,
        metrics=metrics,
    )
    return artifact, evaluation


def compare_with_active(
    past: pd.DataFrame,
    candidate: ModelArtifact,
    test_season: int | None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The candidate and the model predict uses now, scored on the same games of a season
    neither was trained on: the test season when it is one, else every such season of
    ml_past_games. When there is none, no scores: a model scored on its own training games
    would win a race it has already seen (the shipped model learnt 2022-23 and 2023-24).
    """
    active, role = active_model(settings)
    seen = set(candidate.train_seasons) | {int(s) for s in active.train_seasons}
    available = sorted(int(s) for s in past["season"].unique())
    unseen = [s for s in available if s not in seen]
    seasons = [test_season] if test_season in unseen else unseen
    comparison: dict[str, Any] = {
        "games": "unseen by both models" if seasons else None,
        "seasons": seasons,
        "candidate": {"version": candidate.version, "train_seasons": candidate.train_seasons},
        "active": {
            "version": active.version,
            "role": role,
            "train_seasons": list(active.train_seasons),
        },
    }
    if not seasons:
        comparison["reason"] = (
            f"no season of {PAST_TABLE} ({available}) is unseen by both models (candidate "
            f"trained on {candidate.train_seasons}, active on {list(active.train_seasons)})"
        )
        return comparison
    for key, model in (("candidate", candidate), ("active", active)):
        rated = with_pregame_elo(past, model.elo_params)
        rows = rated[rated["season"].isin(seasons)]
        try:
            prob = model.predict_home_prob(model_matrix(rows))
        except ModelMismatch as exc:
            comparison[key]["error"] = str(exc)
            continue
        scores = score(rows["home_win"].to_numpy(dtype=int), prob)
        comparison[key] |= {k: scores[k] for k in ("n", "accuracy", "log_loss", "brier")}
    return comparison


@dataclass
class TrainResult(Result):
    """The fitted artifact, where it was written, and (with a test season) its evaluation."""

    artifact: ModelArtifact | None = None
    path: Path | None = None
    test_season: int | None = None
    evaluation: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None  # the candidate against the active model


@dataclass(frozen=True)
class TrainRequest:
    """A validated `invoke train`: the seasons to fit on (empty: all before the test season),
    the season to evaluate on, where the model goes, the least number of games to fit on."""

    train_seasons: tuple[int, ...] = ()
    test_season: int | None = None
    output: Path | None = None
    activate: bool = False
    min_games: int = MIN_TRAIN_GAMES

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, train_seasons: str | list[int] | None = None,
        test_season: str | int | None = None, output: str | Path | None = None,
        activate: bool = False, min_games: int | str | None = None,
    ) -> TrainRequest:  # fmt: skip
        """`invoke train`'s flags; BadInput (exit 2) before anything is read."""
        if isinstance(train_seasons, list | tuple):
            train_seasons = ",".join(str(s) for s in train_seasons)
        seasons = parse_seasons(train_seasons, flag="--train-seasons")
        tests = parse_seasons(test_season, flag="--test-season")
        if len(tests) > 1:
            raise BadInput("--test-season takes one season")
        least = str(min_games).strip() if min_games not in (None, "") else str(MIN_TRAIN_GAMES)
        if not least.isdigit() or int(least) < 1:
            raise BadInput(f"--min-games: {min_games!r} is not a positive number of games")
        return cls(
            tuple(seasons), tests[0] if tests else None, Path(output) if output else None,
            bool(activate), int(least),
        )  # fmt: skip


def train(request: TrainRequest, *, settings: Settings | None = None) -> TrainResult:
    """`invoke train`: fit, evaluate, compare with the active model, write a candidate.

    With `activate` the model becomes NBA_ELT_MODEL_DIR/current.json, which predict then
    prefers to the shipped one; `output` writes exactly that file instead.
    """
    from nba_elt.warehouse.db import get_engine

    output, activate, test = request.output, request.activate, request.test_season
    past = read_past_games(get_engine(settings))
    artifact, evaluation = fit(past, list(request.train_seasons), test, min_games=request.min_games)
    comparison = compare_with_active(past, artifact, test, settings)
    if output:
        path = artifact.save(output)
        state = "written"
    else:
        path = save_trained(artifact, activate=activate, settings=settings)
        state = "active: predict uses it" if activate else "a candidate"
    summary: dict[str, Any] = {
        "model_version": artifact.version,
        "model_path": str(path),
        "activated": bool(activate and not output),
        "train_seasons": artifact.train_seasons,
        "n_train": artifact.n_train,
        "test_season": test,
        "compared_with_active": comparison,
    }
    message = (
        f"model {artifact.version} fitted on {artifact.n_train} games of {artifact.train_seasons}"
    )
    if evaluation:
        model, home, elo = evaluation["model"], evaluation["home_wins"], evaluation["elo"]
        summary |= {
            "accuracy": model["accuracy"],
            "log_loss": model["log_loss"],
            "brier": model["brier"],
            "n_test": model["n"],
            "baseline_home_accuracy": home["accuracy"],
            "baseline_home_log_loss": home["log_loss"],
            "baseline_elo_accuracy": elo["accuracy"],
            "baseline_elo_log_loss": elo["log_loss"],
            "baseline_elo_brier": elo["brier"],
            "calibration": model["calibration"],
        }
        message += (
            f"; on {test}: accuracy {model['accuracy']:.3f}, log loss {model['log_loss']:.3f} "
            f"(Elo {elo['accuracy']:.3f}, home team {home['accuracy']:.3f})"
        )
    message += "; " + comparison_sentence(comparison) + f"; {state} at {path}"
    if not activate and not output:
        message += f" (use it: invoke model --activate {artifact.version})"
    return TrainResult(
        0,
        message,
        summary,
        artifact=artifact,
        path=path,
        test_season=test,
        evaluation=evaluation or None,
        comparison=comparison,
    )


def comparison_sentence(comparison: dict[str, Any]) -> str:
    """'on the same 103 games of [2025], unseen by both models: candidate: accuracy 0.650,
    log loss 0.610 vs active (shipped ...): ...', or why there is no fair comparison."""
    if not comparison["seasons"]:
        return f"not compared with the active model: {comparison['reason']}"
    parts = []
    for key in ("candidate", "active"):
        side = comparison[key]
        label = key if key == "candidate" else f"active ({side['role']} {side['version']})"
        if "accuracy" in side:
            parts.append(
                f"{label}: accuracy {side['accuracy']:.3f}, log loss {side['log_loss']:.3f}"
            )
        else:
            parts.append(f"{label}: not comparable ({side.get('error', 'no games')})")
    n = comparison["candidate"].get("n", 0)
    return (
        f"on the same {n} games of {comparison['seasons']}, {comparison['games']}, "
        + " vs ".join(parts)
    )
