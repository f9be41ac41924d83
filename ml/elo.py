"""Elo ratings from the ordered sequence of game results, the way FiveThirtyEight rates NBA teams.

- every team starts at 1500; between seasons a rating moves a quarter of the way back to 1505;
- the home team gets +100 points in the expected-score formula;
- K = 20, scaled by a margin-of-victory multiplier ((MOV + 3) ** 0.8) / (7.5 + 0.006 * d),
  where d is the winner's rating edge (home advantage included), which damps runaway favourites.

Point in time: a game's pre-game ratings depend only on games of EARLIER dates, so they do not
change when later games are added (a team plays at most once a day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd

ELO_COLUMNS = ["home_elo_pre", "away_elo_pre", "elo_diff", "elo_home_prob"]


@dataclass(frozen=True)
class EloParams:
    initial: float = 1500.0
    k: float = 20.0
    home_advantage: float = 100.0
    carry_over: float = 0.75  # share of last season's rating kept
    season_mean: float = 1505.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def expected_home(home_elo, away_elo, params: EloParams):
    """Probability that the home team wins, from the two ratings (numbers or Series)."""
    diff = home_elo + params.home_advantage - away_elo
    return 1.0 / (1.0 + 10.0 ** (-diff / 400.0))


def mov_multiplier(margin: int, winner_edge: float) -> float:
    return ((abs(margin) + 3.0) ** 0.8) / (7.5 + 0.006 * winner_edge)


@dataclass
class EloState:
    """Ratings after the games seen so far, and the season they belong to."""

    params: EloParams
    ratings: dict[str, float]
    season: dict[str, int]

    @classmethod
    def empty(cls, params: EloParams | None = None) -> EloState:
        return cls(params or EloParams(), {}, {})

    def rating(self, team: str, season: int) -> float:
        """The team's rating going into a game of `season` (carry-over applied if new season)."""
        p = self.params
        if team not in self.ratings:
            return p.initial
        rating = self.ratings[team]
        for _ in range(max(0, season - self.season[team])):
            rating = p.carry_over * rating + (1 - p.carry_over) * p.season_mean
        return rating

    def update(
        self, home: str, away: str, season: int, home_pts: int, away_pts: int
    ) -> tuple[float, float]:
        """Apply one final result; returns the pre-game (home, away) ratings."""
        p = self.params
        home_pre, away_pre = self.rating(home, season), self.rating(away, season)
        expected = expected_home(home_pre, away_pre, p)
        home_won = 1.0 if home_pts > away_pts else 0.0
        edge = home_pre + p.home_advantage - away_pre
        winner_edge = edge if home_won else -edge
        shift = p.k * mov_multiplier(home_pts - away_pts, winner_edge) * (home_won - expected)
        self.ratings[home], self.ratings[away] = home_pre + shift, away_pre - shift
        self.season[home] = self.season[away] = season
        return home_pre, away_pre


def _ordered(games: pd.DataFrame) -> pd.DataFrame:
    return games.sort_values(["game_date", "game_id"], kind="mergesort")


def pregame_elo(past_games: pd.DataFrame, params: EloParams | None = None) -> pd.DataFrame:
    """Pre-game Elo of every game in past_games (needs game_id, game_date, season, home_team,
    away_team, home_pts, away_pts). Returns game_id + ELO_COLUMNS, in the input's order.

    Ratings going into a date are those after every game of earlier dates.
    """
    state = EloState.empty(params)
    out: dict[str, tuple[float, float]] = {}
    for row in _ordered(past_games).itertuples(index=False):
        out[row.game_id] = state.update(
            row.home_team, row.away_team, int(row.season), int(row.home_pts), int(row.away_pts)
        )
    pre = pd.DataFrame(
        [(gid, *out[gid]) for gid in past_games["game_id"]],
        columns=["game_id", "home_elo_pre", "away_elo_pre"],
    )
    return _derive(pre, state.params)


def elo_before(
    past_games: pd.DataFrame, games: pd.DataFrame, params: EloParams | None = None
) -> pd.DataFrame:
    """Elo going into `games` (e.g. tonight's): ratings after every past game dated before
    each game's date. Needs game_id, game_date, season, home_team, away_team in `games`."""
    state = EloState.empty(params)
    past = _ordered(past_games)
    past_dates = pd.to_datetime(past["game_date"]).dt.date.to_numpy()
    rows: list[tuple[str, float, float]] = []
    position = 0
    targets = games.assign(target_day=pd.to_datetime(games["game_date"]).dt.date)
    targets = targets.sort_values("target_day", kind="mergesort")
    past_rows = list(past.itertuples(index=False))
    for row in targets.itertuples(index=False):
        day: dt.date = row.target_day
        while position < len(past_rows) and past_dates[position] < day:
            g = past_rows[position]
            state.update(g.home_team, g.away_team, int(g.season), int(g.home_pts), int(g.away_pts))
            position += 1
        season = int(row.season)
        rows.append(
            (row.game_id, state.rating(row.home_team, season), state.rating(row.away_team, season))
        )
    pre = pd.DataFrame(rows, columns=["game_id", "home_elo_pre", "away_elo_pre"])
    pre = pre.set_index("game_id").loc[list(games["game_id"])].reset_index()
    return _derive(pre, state.params)


def _derive(pre: pd.DataFrame, params: EloParams) -> pd.DataFrame:
    pre["elo_diff"] = pre["home_elo_pre"] + params.home_advantage - pre["away_elo_pre"]
    pre["elo_home_prob"] = expected_home(pre["home_elo_pre"], pre["away_elo_pre"], params)
    return pre
