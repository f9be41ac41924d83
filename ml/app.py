"""Predict a date's games into ml_models.ml_game_predictions.

    nba_elt.predict(date) / `invoke predict` / python -m nba_elt predict [--date D] [--json]

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
    ScheduleMissing,
    feature_columns_of,
    model_matrix,
    read_games_on,
    read_past_games,
    table_columns,
    with_elo_before,
)
from ml.model import ModelArtifact, load_model
from nba_elt.config import Settings
from nba_elt.dates import parse_date, season_of, today_eastern
from nba_elt.results import Result

log = logging.getLogger(__name__)

PREDICTIONS_TABLE = f"{SCHEMA}.ml_game_predictions"


def _has_schedule(conn: Connection) -> bool:
    return bool(conn.execute(text("select to_regclass('nba_source.schedule')")).scalar())


def scheduled_game_ids(conn: Connection, day: dt.date) -> list[str]:
    """Games nba_source.schedule has on the day (not postponed); [] if the table is absent."""
    if not _has_schedule(conn):
        return []
    rows = conn.execute(
        text(
            "select game_id from nba_source.schedule "
            "where game_date = :day and status <> 'postponed' order by game_id"
        ),
        {"day": day},
    )
    return [r[0] for r in rows]


def _season_is_scheduled(conn: Connection, day: dt.date) -> bool:
    """True when nba_source.schedule holds any game of the day's season."""
    if not _has_schedule(conn):
        return False
    return bool(
        conn.execute(
            text("select exists (select 1 from nba_source.schedule where season = :s)"),
            {"s": season_of(day)},
        ).scalar()
    )


def _not_built(table: str, day: dt.date) -> FeaturesNotReady:
    return FeaturesNotReady(
        f"{SCHEMA}.{table} does not exist: build the features with "
        f"`invoke refresh --run-date {day}` first"
    )


def _past_games_behind(conn: Connection, day: dt.date) -> int:
    """Final games before the day that nba_source.schedule has and ml_past_games lacks."""
    if not table_columns(conn, PAST_TABLE):
        raise _not_built(PAST_TABLE, day)
    if not _has_schedule(conn):
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
    """The day's feature rows.

    ScheduleMissing when nba_source.schedule holds nothing of the day's season (nobody can
    tell whether the day has games); FeaturesNotReady when the feature tables are missing,
    built for another date, lack a scheduled game of the day or lag behind the schedule.
    """
    with engine.connect() as conn:
        scheduled = scheduled_game_ids(conn, day)
        if not scheduled and not _season_is_scheduled(conn, day):
            load = (
                f"load it with `invoke backfill --date {day} --sources schedule`, then predict "
                "again"
                if day <= today_eastern()
                else "a backfill takes dates up to today: predict it on the day"
            )
            raise ScheduleMissing(
                f"nba_source.schedule holds no game of the {season_of(day)} season, so there "
                f"is no telling whether {day} has games: {load}"
            )
        columns = table_columns(conn, TONIGHT_TABLE)
        if not columns:
            raise _not_built(TONIGHT_TABLE, day)
        model.check_table_columns(feature_columns_of(columns), f"{SCHEMA}.{TONIGHT_TABLE}")
        games = read_games_on(conn, day)
        absent = sorted(set(scheduled) - set(games["game_id"]))
        if absent and games.empty:
            found = ", ".join(str(d) for d in _other_dates(conn)) or "no games at all"
            raise FeaturesNotReady(
                f"{SCHEMA}.{TONIGHT_TABLE} is stale: nba_source.schedule has {len(scheduled)} "
                f"game(s) on {day} but the table holds {found}. Rebuild it with "
                f"`invoke refresh --run-date {day}`, then predict again"
            )
        if absent:
            raise FeaturesNotReady(
                f"{SCHEMA}.{TONIGHT_TABLE} is stale: it lacks {len(absent)} of the "
                f"{len(scheduled)} game(s) nba_source.schedule has on {day} "
                f"({', '.join(absent[:5])}). Rebuild it with `invoke refresh --run-date {day}`"
            )
        if not games.empty and (behind := _past_games_behind(conn, day)):
            raise FeaturesNotReady(
                f"{SCHEMA}.{PAST_TABLE} is stale: {behind} final game(s) before {day} in "
                "nba_source.schedule are not in it, so the ratings would miss them. "
                f"Run `invoke refresh --run-date {day}`, then predict again"
            )
    return games


@dataclass
class FeaturesBuilt:
    """Why predict built the features itself, and the build it ran (a RefreshResult)."""

    reason: str
    selection: str
    message: str
    summary: dict[str, Any]
    refresh: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "selection": self.selection,
            "refresh_run_id": self.summary.get("refresh_run_id"),
            "models": self.summary.get("models"),
        }


def build_features(day: dt.date, reason: str, settings: Settings | None = None) -> FeaturesBuilt:
    """What `invoke refresh --run-date day` builds, recorded in ops.refresh_runs.

    That is tonight's features for the day plus whatever the backfill ledger says changed
    since the last refresh (with everything downstream of it, so no view is left dropped);
    everything on a warehouse no refresh ever built.
    """
    from nba_elt.transform.dbt import RefreshRequest, refresh

    log.info("building the features for %s: %s", day, reason)
    result = refresh(RefreshRequest(run_date=day), settings=settings)
    if result.exit_code != 0:
        raise FeaturesNotReady(
            f"the features for {day} were not ready ({reason}) and building them failed: "
            f"{result.message}"
        )
    selection = result.summary.get("selection") or "everything"
    return FeaturesBuilt(reason, selection, result.message, result.summary, result)


def read_tonight_building_if_needed(
    engine: Engine,
    day: dt.date,
    model: ModelArtifact,
    *,
    build: bool = True,
    settings: Settings | None = None,
) -> tuple[pd.DataFrame, FeaturesBuilt | None]:
    """The day's feature rows; when missing or stale (and `build`), build them first.

    What no build can fix (no schedule for the day's season, a build that fails, features
    still not right after it) raises FeaturesNotReady.
    """
    try:
        return read_tonight(engine, day, model), None
    except ScheduleMissing:
        raise
    except FeaturesNotReady as exc:
        if not build:
            raise
        reason = str(exc).split(":")[0] if ": " in str(exc) else str(exc)
        built = build_features(day, reason, settings)
    try:
        return read_tonight(engine, day, model), built
    except FeaturesNotReady as exc:
        raise FeaturesNotReady(
            f"built the features for {day} ({built.selection}) and they are still not ready: "
            f"{exc}. Rows loaded outside `invoke backfill` (python -m ml.history) reach them "
            f"only with `invoke refresh --full --run-date {day}`"
        ) from None


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
    """The date's predictions (one row per game; empty when the date has no games), and the
    feature build predict ran first when the features were missing or stale (None if not)."""

    date: dt.date | None = None
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    features_built: FeaturesBuilt | None = None


@dataclass(frozen=True)
class PredictRequest:
    """A validated `invoke predict`: the game date (None: today, US Eastern), the model file
    (None: the active model, ml/registry.py)."""

    date: dt.date | None = None
    model_path: Path | None = None

    @classmethod
    def from_flags(
        cls, settings: Settings | None = None, *, date: str | dt.date | None = None,
        model_path: str | Path | None = None,
    ) -> PredictRequest:  # fmt: skip
        """`invoke predict`'s flags; BadInput (exit 2) before anything is read."""
        day = parse_date(str(date), allow_future=True) if date else None
        return cls(day, Path(model_path) if model_path else None)


def run_predict(
    request: PredictRequest, *, build_features: bool = True, settings: Settings | None = None
) -> PredictResult:
    """`invoke predict`: predict the request's date's games (default today, US Eastern).

    When ml_tonights_games is missing or stale for the date, builds it first (what
    `invoke refresh --run-date D` builds) unless `build_features` is False, and says so.
    """
    from nba_elt.warehouse.db import get_engine

    day = request.date or today_eastern()
    model = load_model(request.model_path, settings)
    engine = get_engine(settings)
    games, built = read_tonight_building_if_needed(
        engine, day, model, build=build_features, settings=settings
    )
    summary: dict[str, Any] = {
        "date": str(day),
        "model_version": model.version,
        "features_built": built.as_dict() if built else None,
    }
    first = f"features for {day} built first ({built.reason}); " if built else ""
    message = f"{first}no games on {day}; nothing to predict"
    predictions = pd.DataFrame()
    summary["games"] = 0
    if not games.empty:
        predictions = predict_games(games, read_past_games(engine), model).reset_index(drop=True)
        summary["games"] = write_predictions(engine, day, predictions)
        summary["predictions"] = [
            {
                "game_id": r.game_id,
                "matchup": f"{r.away_team} @ {r.home_team}",
                "home_win_prob": round(float(r.home_win_prob), 3),
            }
            for r in predictions.itertuples(index=False)
        ]
        message = f"{first}{summary['games']} game(s) on {day} predicted with model {model.version}"
    return PredictResult(
        0, message, summary, date=day, predictions=predictions, features_built=built
    )
