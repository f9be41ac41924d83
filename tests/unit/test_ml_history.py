"""ml/history.py: the real league game log -> nba_source.schedule rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ml.history import SHIPPED_FILES, parse_team_games, read_team_games
from nba_elt.errors import BadInput

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ml" / "nba_team_games_2022-10-18_2022-11-15.csv"


def test_opening_night_is_one_row_per_game_with_the_home_team_from_the_matchup():
    games = read_team_games(FIXTURE)
    assert len(games) == 210
    assert games["game_id"].is_unique
    bos = games.set_index("game_id").loc["202210180BOS"]
    assert (bos["home_team"], bos["away_team"]) == ("BOS", "PHI")
    assert (bos["home_pts"], bos["away_pts"]) == (126, 117)
    assert bos["game_date"] == dt.date(2022, 10, 18)
    assert bos["season"] == 2023
    assert (bos["status"], bos["game_type"]) == ("final", "regular")
    gsw = games.set_index("game_id").loc["202210180GSW"]
    assert (gsw["home_team"], gsw["away_team"], gsw["home_pts"], gsw["away_pts"]) == (
        "GSW",
        "LAL",
        123,
        109,
    )


def test_game_ids_use_basketball_reference_codes_and_nba_codes_in_columns():
    games = read_team_games(FIXTURE)
    brooklyn_home = games[games["home_team"] == "BKN"]
    assert not brooklyn_home.empty
    assert brooklyn_home["game_id"].str.endswith("BRK").all()
    assert not games["home_team"].isin(["BRK", "CHO", "PHO"]).any()


def test_shipped_seasons_are_full_regular_seasons():
    assert [p.name for p in SHIPPED_FILES] == [
        "nba_team_games_2022-23.csv",
        "nba_team_games_2023-24.csv",
    ]
    for path, season in zip(SHIPPED_FILES, (2023, 2024), strict=True):
        games = read_team_games(path)
        assert len(games) == 1230
        assert set(games["season"]) == {season}
        # every team plays 82 games
        played = pd.concat([games["home_team"], games["away_team"]]).value_counts()
        assert len(played) == 30
        assert played.eq(82).all()


def _rows(*rows):
    cols = ["game_id", "game_date", "team_abbreviation", "matchup", "pts", "min"]
    return pd.DataFrame(rows, columns=cols)


def test_neutral_site_game_takes_home_from_the_first_row():
    frame = _rows(
        ("0022300500", "2024-01-11", "BKN", "BKN @ CLE", 102, 240),
        ("0022300500", "2024-01-11", "CLE", "CLE @ BKN", 111, 240),
    )
    game = parse_team_games(frame).iloc[0]
    assert (game["home_team"], game["away_team"]) == ("CLE", "BKN")
    assert game["game_id"] == "202401110CLE"
    assert (game["home_pts"], game["away_pts"]) == (111, 102)


def test_overtimes_from_team_minutes():
    frame = _rows(
        ("0022300001", "2023-10-24", "DEN", "DEN vs. LAL", 119, 265),
        ("0022300001", "2023-10-24", "LAL", "LAL @ DEN", 117, 265),
    )
    assert parse_team_games(frame).iloc[0]["overtimes"] == 1


def test_game_type_from_the_game_id_prefix():
    frame = _rows(
        ("0042300101", "2024-04-20", "BOS", "BOS vs. MIA", 114, 240),
        ("0042300101", "2024-04-20", "MIA", "MIA @ BOS", 94, 240),
        ("0052300111", "2024-04-16", "PHI", "PHI vs. MIA", 105, 240),
        ("0052300111", "2024-04-16", "MIA", "MIA @ PHI", 104, 240),
    )
    types = parse_team_games(frame).set_index("home_team")["game_type"]
    assert types.to_dict() == {"BOS": "playoffs", "PHI": "playin"}


@pytest.mark.parametrize(
    "frame",
    [
        _rows(("0022300001", "2023-10-24", "DEN", "DEN vs. LAL", 119, 240)),  # one row only
        _rows(
            ("0022300001", "2023-10-24", "DEN", "DEN v LAL", 119, 240),
            ("0022300001", "2023-10-24", "LAL", "LAL v DEN", 107, 240),
        ),
        pd.DataFrame({"game_id": ["1"], "pts": [1]}),
    ],
)
def test_malformed_input_is_bad_input(frame):
    with pytest.raises(BadInput):
        parse_team_games(frame)
