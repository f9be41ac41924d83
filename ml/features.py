"""The ML feature tables built by dbt (docs/internals.md "Features for ml/") and the model matrix.

dbt builds ml_models.ml_past_games (completed games + outcome) and ml_models.ml_tonights_games
(the games of var('run_date')) with the same feature columns. This module reads them, adds the
pre-game Elo ratings (ml/elo.py) and turns a row into the numbers the model sees.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ml.elo import ELO_COLUMNS, EloParams, elo_before, pregame_elo
from nba_elt.errors import NbaEltError

log = logging.getLogger(__name__)

SCHEMA = "ml_models"
PAST_TABLE = "ml_past_games"
TONIGHT_TABLE = "ml_tonights_games"

ID_COLUMNS = ["game_id", "game_date", "season", "home_team", "away_team"]
OUTCOME_COLUMNS = ["home_pts", "away_pts", "home_win"]
TABLE_FEATURE_COLUMNS = [
    "home_games_played",
    "away_games_played",
    "home_win_pct",
    "away_win_pct",
    "home_last10_win_pct",
    "away_last10_win_pct",
    "home_avg_pts_for",
    "home_avg_pts_against",
    "away_avg_pts_for",
    "away_avg_pts_against",
    "home_avg_margin",
    "away_avg_margin",
    "home_days_rest",
    "away_days_rest",
    "home_is_back_to_back",
    "away_is_back_to_back",
]
# What the model is fitted on: derived from the table's columns plus the Elo ratings.
MODEL_FEATURES = [
    "elo_diff",
    "win_pct_diff",
    "last10_win_pct_diff",
    "avg_margin_diff",
    "days_rest_diff",
    "back_to_back_diff",
]
MAX_REST_DAYS = 4  # more rest than this adds nothing; also the value for a season's first game


class FeaturesNotReady(NbaEltError):
    """ml_models feature tables are missing, or were built for another date. Nothing written."""


class ScheduleMissing(FeaturesNotReady):
    """nba_source.schedule does not cover the date: no dbt build can make its features."""


def table_columns(conn: Connection, table: str) -> list[str]:
    """Columns of ml_models.<table> in order; empty list when the table does not exist."""
    rows = conn.execute(
        text(
            "select column_name from information_schema.columns "
            "where table_schema = :schema and table_name = :table order by ordinal_position"
        ),
        {"schema": SCHEMA, "table": table},
    )
    return [r[0] for r in rows]


def feature_columns_of(columns: list[str]) -> list[str]:
    """The feature columns of a table: everything except the identity and outcome columns."""
    return [c for c in columns if c not in ID_COLUMNS and c not in OUTCOME_COLUMNS]


def require_columns(columns: list[str], needed: list[str], table: str) -> None:
    if not columns:
        raise FeaturesNotReady(
            f"{SCHEMA}.{table} does not exist: build the features first with `invoke refresh --full`"
        )
    missing = [c for c in needed if c not in columns]
    if missing:
        raise FeaturesNotReady(
            f"{SCHEMA}.{table} lacks the columns {missing} (docs/internals.md 'Features for ml/'); "
            "update the dbt model or the ml code, then `invoke refresh --full`"
        )


def read_past_games(engine: Engine) -> pd.DataFrame:
    """Every row of ml_models.ml_past_games (one row per completed game), ordered by date."""
    with engine.connect() as conn:
        cols = table_columns(conn, PAST_TABLE)
        require_columns(cols, ID_COLUMNS + OUTCOME_COLUMNS + TABLE_FEATURE_COLUMNS, PAST_TABLE)
        frame = pd.read_sql_query(
            text(f"select * from {SCHEMA}.{PAST_TABLE} order by game_date, game_id"), conn
        )
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    frame["season"] = frame["season"].astype(int)
    for col in TABLE_FEATURE_COLUMNS + [c for c in OUTCOME_COLUMNS if c in frame]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def read_games_on(conn: Connection, day: dt.date) -> pd.DataFrame:
    """Rows of ml_models.ml_tonights_games for `day`."""
    frame = pd.read_sql_query(
        text(f"select * from {SCHEMA}.{TONIGHT_TABLE} where game_date = :day order by game_id"),
        conn,
        params={"day": day},
    )
    return _typed(frame)


def with_pregame_elo(past_games: pd.DataFrame, params: EloParams | None = None) -> pd.DataFrame:
    """Completed games + their pre-game Elo (each game sees only games of earlier dates)."""
    elo = pregame_elo(past_games, params)
    return past_games.merge(elo, on="game_id", how="left", validate="one_to_one")


def with_elo_before(
    games: pd.DataFrame, past_games: pd.DataFrame, params: EloParams | None = None
) -> pd.DataFrame:
    """Upcoming games + Elo after every completed game dated before them."""
    if games.empty:
        return games.assign(**{c: pd.Series(dtype=float) for c in ELO_COLUMNS})
    earlier = past_games[past_games["game_date"] < min(games["game_date"])]
    elo = elo_before(earlier, games, params)
    return games.merge(elo, on="game_id", how="left", validate="one_to_one")


def model_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The numbers the model sees, one row per game (same index as frame).

    NULL features (a team's first game of a season) become neutral values: a .500 record,
    a zero margin, full rest.
    """

    def col(name: str, fill: float) -> pd.Series:
        return frame[name].astype(float).fillna(fill)

    rest_home = col("home_days_rest", MAX_REST_DAYS).clip(upper=MAX_REST_DAYS)
    rest_away = col("away_days_rest", MAX_REST_DAYS).clip(upper=MAX_REST_DAYS)
    matrix = pd.DataFrame(
        {
            "elo_diff": frame["elo_diff"].astype(float),
            "win_pct_diff": col("home_win_pct", 0.5) - col("away_win_pct", 0.5),
            "last10_win_pct_diff": col("home_last10_win_pct", 0.5)
            - col("away_last10_win_pct", 0.5),
            "avg_margin_diff": col("home_avg_margin", 0.0) - col("away_avg_margin", 0.0),
            "days_rest_diff": rest_home - rest_away,
            "back_to_back_diff": col("home_is_back_to_back", 0.0)
            - col("away_is_back_to_back", 0.0),
        },
        index=frame.index,
    )
    if matrix.isna().any().any():
        bad = matrix.columns[matrix.isna().any()].tolist()
        raise FeaturesNotReady(f"features {bad} are missing for some games")
    assert list(matrix.columns) == MODEL_FEATURES
    return matrix.astype(np.float64)
