"""Elo ratings (ml/elo.py) on real 2022-23 results: point in time, zero-sum, season carry-over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ml.elo import EloParams, EloState, elo_before, expected_home, pregame_elo
from ml.history import read_team_games

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ml" / "nba_team_games_2022-10-18_2022-11-15.csv"


@pytest.fixture(scope="module")
def games() -> pd.DataFrame:
    return read_team_games(FIXTURE)


def test_opening_night_ratings_are_the_initial_rating(games):
    elo = pregame_elo(games).set_index("game_id")
    opening = elo.loc["202210180BOS"]
    assert opening["home_elo_pre"] == opening["away_elo_pre"] == 1500.0
    # 100 points of home advantage -> 64% for the home team
    assert opening["elo_home_prob"] == pytest.approx(0.6401, abs=1e-4)


def test_pregame_rating_does_not_change_when_later_games_are_added(games):
    cutoff = dt.date(2022, 11, 1)
    early = games[games["game_date"] < cutoff]
    from_early = pregame_elo(early).set_index("game_id")
    from_all = pregame_elo(games).set_index("game_id").loc[from_early.index]
    pd.testing.assert_frame_equal(from_early, from_all)
    assert len(from_early) > 100


def test_later_games_do_move_ratings(games):
    elo = pregame_elo(games).set_index("game_id")
    last = games.iloc[-1]["game_id"]
    assert elo.loc[last, "home_elo_pre"] != 1500.0


def test_ratings_for_a_future_date_use_only_earlier_games(games):
    """Tonight's ratings = ratings after every game before the date, whatever follows it."""
    day = dt.date(2022, 11, 10)
    tonight = games[games["game_date"] == day]
    earlier = games[games["game_date"] < day]
    before = elo_before(games, tonight).set_index("game_id")
    assert before.equals(elo_before(earlier, tonight).set_index("game_id"))
    # and they equal the pre-game ratings of the same games computed over the whole sequence
    pre = pregame_elo(games).set_index("game_id").loc[before.index]
    pd.testing.assert_frame_equal(before, pre)


def test_a_game_is_zero_sum_and_upsets_move_more():
    state = EloState.empty()
    home_pre, away_pre = state.update("BOS", "PHI", 2023, 126, 117)
    assert (home_pre, away_pre) == (1500.0, 1500.0)
    gain = state.ratings["BOS"] - 1500.0
    assert gain > 0
    assert state.ratings["PHI"] == pytest.approx(1500.0 - gain)
    upset = EloState.empty()
    upset.update("BOS", "PHI", 2023, 117, 126)  # the home favourite loses by the same margin
    assert 1500.0 - upset.ratings["BOS"] > gain


def test_new_season_moves_a_quarter_of_the_way_back_to_1505():
    params = EloParams()
    state = EloState(params, {"BOS": 1700.0}, {"BOS": 2023})
    assert state.rating("BOS", 2023) == 1700.0
    assert state.rating("BOS", 2024) == pytest.approx(0.75 * 1700 + 0.25 * 1505)
    assert state.rating("NEW", 2024) == 1500.0


def test_expected_home_is_symmetric_around_home_advantage():
    params = EloParams()
    assert expected_home(1500, 1600, params) == pytest.approx(0.5)
    assert expected_home(1600, 1500, params) > 0.75


def test_tonight_without_any_history_starts_everyone_at_1500(games):
    tonight = games[games["game_date"] == dt.date(2022, 10, 18)]
    empty = games.iloc[0:0]
    elo = elo_before(empty, tonight)
    assert (elo["home_elo_pre"] == 1500.0).all() and (elo["away_elo_pre"] == 1500.0).all()
    assert list(elo["game_id"]) == list(tonight["game_id"])
