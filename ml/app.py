"""Predict a date's games into ml_models.ml_game_predictions.

    nba_elt.predict(date) / `invoke predict` / python -m nba_elt.cli.predict [--date D] [--json]

Reads ml_models.ml_tonights_games for the date (dbt builds it for var('run_date')), adds the
Elo ratings after every completed game before the date, applies the current model, and
replaces the date's rows of ml_models.ml_game_predictions in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ml.features import (
    PAST_TABLE,
    SCHEMA,
    TONIGHT_TABLE,
    FeaturesNotReady,
    feature_columns_of,
    model_matrix,
    read_games_on,
    read_past_games,
    table_columns,
    with_elo_before,
)
from ml.model import ModelArtifact, load_model
from nba_elt.config import Settings
from nba_elt.dates import parse_date, today_eastern
from nba_elt.results import Result

log = logging.getLogger(__name__)

PREDICTIONS_TABLE = f"{SCHEMA}.ml_game_predictions"


def _scheduled_game_count(conn: Connection, day: dt.date) -> int:
    """Games nba_source.schedule has on the day (not postponed); 0 if the table is absent."""
    exists = conn.execute(text("select to_regclass('nba_source.schedule')")).scalar()
    if not exists:
        return 0
    return int(
        conn.execute(
            text(
                "select count(*) from nba_source.schedule "
                "where game_date = :day and status <> 'postponed'"
            ),
            {"day": day},
        ).scalar()
    )


def _past_games_behind(conn: Connection, day: dt.date) -> int:
    """Final games before the day that nba_source.schedule has and ml_past_games lacks."""
    if not table_columns(conn, PAST_TABLE):
        raise FeaturesNotReady(
            f"{SCHEMA}.{PAST_TABLE} does not exist: build the features with "
            f"`invoke refresh --run-date {day}` first"
        )
    if not conn.execute(text("select to_regclass('nba_source.schedule')")).scalar():
        return 0
    in_schedule = conn.execute(
        text(
            "select count(*) from nba_source.schedule where status = 'final' "
            "and home_pts is not null and away_pts is not null and game_date < :day"
        ),
        {"day": day},
    ).scalar()
    in_features = conn.execute(
        text(f"select count(*) from {SCHEMA}.{PAST_TABLE} where game_date < :day"), {"day": day}
    ).scalar()
    return max(0, int(in_schedule) - int(in_features))


def _other_dates(conn: Connection) -> list[dt.date]:
    rows = conn.execute(
        text(f"select distinct game_date from {SCHEMA}.{TONIGHT_TABLE} order by 1 limit 5")
    )
    return [r[0] for r in rows]


def read_tonight(engine: Engine, day: dt.date, model: ModelArtifact) -> pd.DataFrame:
    """The day's feature rows; FeaturesNotReady when missing or built for another date."""
    with engine.connect() as conn:
        columns = table_columns(conn, TONIGHT_TABLE)
        if not columns:
            raise FeaturesNotReady(
                f"{SCHEMA}.{TONIGHT_TABLE} does not exist: build the features with "
                f"`invoke refresh --run-date {day}` first"
            )
        model.check_table_columns(feature_columns_of(columns), f"{SCHEMA}.{TONIGHT_TABLE}")
        games = read_games_on(conn, day)
        if games.empty:
            scheduled = _scheduled_game_count(conn, day)
            if scheduled:
                found = ", ".join(str(d) for d in _other_dates(conn)) or "no games at all"
                raise FeaturesNotReady(
                    f"{SCHEMA}.{TONIGHT_TABLE} is stale: nba_source.schedule has {scheduled} "
                    f"game(s) on {day} but the table holds {found}. Rebuild it with "
                    f"`invoke refresh --run-date {day}`, then predict again"
                )
        elif behind := _past_games_behind(conn, day):
            raise FeaturesNotReady(
                f"{SCHEMA}.{PAST_TABLE} is stale: {behind} final game(s) before {day} in "
                "nba_source.schedule are not in it, so the ratings would miss them. "
                f"Run `invoke refresh --run-date {day}`, then predict again"
            )
    return games


def predict_games(games: pd.DataFrame, past: pd.DataFrame, model: ModelArtifact) -> pd.DataFrame:
    """One prediction row per game (the columns of ml_models.ml_game_predictions)."""
    rated = with_elo_before(games, past, model.elo_params)
    prob = model.predict_home_prob(model_matrix(rated))
    return pd.DataFrame(
        {
            "game_id": rated["game_id"],
            "game_date": rated["game_date"],
            "home_team": rated["home_team"],
            "away_team": rated["away_team"],
            "home_win_prob": prob.round(6),
            "away_win_prob": (1.0 - prob).round(6),
            "model_version": model.version,
        }
    )


def write_predictions(engine: Engine, day: dt.date, predictions: pd.DataFrame) -> int:
    """Replace the day's predictions in one transaction; rows written.

    Through the warehouse's one upsert (COPY -> merge by game_id), after deleting the
    day's earlier predictions (a game no longer on the day leaves none behind).
    """
    from nba_elt.warehouse.load import upsert

    frame = predictions.assign(predicted_at=pd.Timestamp.now(tz="UTC"))
    with engine.begin() as conn:
        conn.execute(text(f"delete from {PREDICTIONS_TABLE} where game_date = :day"), {"day": day})
        upsert(conn, PREDICTIONS_TABLE, frame)
    return len(frame)


@dataclass
class PredictResult(Result):
    """The date's predictions (one row per game; empty when the date has no games)."""

    date: dt.date | None = None
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_predict(
    date: str | dt.date | None = None,
    model_path: str | Path | None = None,
    *,
    settings: Settings | None = None,
) -> PredictResult:
    """`invoke predict`: predict the date's games (default today, US Eastern)."""
    from nba_elt.warehouse.db import get_engine

    day = parse_date(str(date), allow_future=True) if date else today_eastern()
    model = load_model(model_path, settings)
    engine = get_engine(settings)
    games = read_tonight(engine, day, model)
    summary: dict[str, Any] = {"date": str(day), "model_version": model.version}
    if games.empty:
        return PredictResult(
            0, f"no games on {day}; nothing to predict", summary | {"games": 0}, date=day
        )
    predictions = predict_games(games, read_past_games(engine), model)
    written = write_predictions(engine, day, predictions)
    summary |= {
        "games": written,
        "predictions": [
            {
                "game_id": r.game_id,
                "matchup": f"{r.away_team} @ {r.home_team}",
                "home_win_prob": round(float(r.home_win_prob), 3),
            }
            for r in predictions.itertuples(index=False)
        ],
    }
    return PredictResult(
        0,
        f"{written} game(s) on {day} predicted with model {model.version}",
        summary,
        date=day,
        predictions=predictions.reset_index(drop=True),
    )
