"""The NBA provider's parsers on real recorded stats.nba.com responses (tests/fixtures/nba_stats).

The liveData box score is not recorded: its test re-shapes the REAL V3 box score into the
liveData layout nba_api documents (players under game.homeTeam.players[].statistics,
minutes as PTmmMss.ssS, a gameCode); that payload is synthetic in shape, real in numbers.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from nba_elt.errors import SchemaDrift
from nba_elt.sources.nba import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "nba_stats"
DAY = dt.date(2023, 1, 2)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def live_boxscore_from_v3() -> dict:
    """SYNTHETIC shape, real numbers: the recorded V3 box score in the liveData layout."""
    v3 = load("boxscoretraditionalv3_0022200552.json")["boxScoreTraditional"]
    game = {"gameId": "0022200552", "gameCode": "20230102/CHICLE", "gameStatus": 3, "period": 5}
    for side in ("homeTeam", "awayTeam"):
        team = copy.deepcopy(v3[side])
        team["score"] = team["statistics"]["points"]
        for player in team["players"]:
            stats = player["statistics"]
            minutes, _, seconds = (stats["minutes"] or "0:0").partition(":")
            stats["minutes"] = f"PT{int(minutes):02d}M{int(seconds or 0):02d}.00S"
            player["played"] = "0" if player["comment"] else "1"
            player["name"] = f"{player['firstName']} {player['familyName']}"
        game[side] = team
    return {"game": game}


def test_warehouse_ids_use_the_bbref_code_of_the_home_team():
    assert parse.warehouse_game_id(DAY, "CLE") == "202301020CLE"
    assert parse.warehouse_game_id(DAY, "BKN") == "202301020BRK"
    assert parse.warehouse_game_id(DAY, "CHA") == "202301020CHO"
    assert parse.warehouse_game_id(DAY, "PHX") == "202301020PHO"
    assert parse.season_of_game("0022200552") == 2023
    assert parse.season_label(2023) == "2022-23"
    assert parse.game_type_of("0042200101") == "playoffs"
    assert parse.game_type_of("0052200101") == "playin"
    assert parse.is_nba_game_id("0022000001") and not parse.is_nba_game_id("202301020CLE")


def test_league_game_log_2022_23_gives_the_days_final_scores():
    frame = parse.parse_league_game_log(load("leaguegamelog_2022-23.json"))
    assert frame["game_id"].is_unique and frame["nba_game_id"].is_unique
    assert len(frame) == 1230  # 30 teams x 82 games / 2
    day = frame[frame["game_date"] == DAY].set_index("game_id")
    assert len(day) == 11
    game = day.loc["202301020CLE"]
    assert (game.away_team, game.home_team, game.away_pts, game.home_pts) == (
        "CHI",
        "CLE",
        134,
        145,
    )
    assert (game.nba_game_id, game.overtimes, game.status, game.season) == (
        "0022200552",
        1,
        "final",
        2023,
    )
    assert day.loc["202301020GSW"].overtimes == 2  # ATL @ GSW, 290 team minutes
    assert "202301020BRK" in day.index  # BKN at home: the warehouse id uses BRK
    assert day.loc["202301020BRK"].home_team == "BKN"
    assert set(frame["game_type"]) == {"regular"}


def test_league_game_log_2025_26_is_readable():
    frame = parse.parse_league_game_log(load("leaguegamelog.json"))
    opener = frame.set_index("nba_game_id").loc["0022500002"]
    assert (opener.game_id, opener.away_team, opener.away_pts, opener.home_pts) == (
        "202510210LAL",
        "GSW",
        119,
        109,
    )
    assert frame.set_index("nba_game_id").loc["0022500001"].overtimes == 2


def test_scoreboard_v3_lists_the_days_games_and_an_offseason_day_has_none():
    frame = parse.parse_scoreboard_v3(load("scoreboardv3_2025-11-05.json")).set_index("game_id")
    assert len(frame) == 11
    game = frame.loc["202511050CLE"]
    assert (game.away_team, game.away_pts, game.home_pts, game.status) == ("PHI", 121, 132, "final")
    assert game.nba_game_id == "0022500171" and game.start_time == "19:00"
    assert frame.loc["202511050IND"].away_team == "BKN"
    assert parse.parse_scoreboard_v3(load("scoreboardv3_offseason.json")).empty


def test_boxscore_v3_mitchell_71_and_team_sums_equal_the_final():
    frame, totals = parse.parse_boxscore_v3(
        load("boxscoretraditionalv3_0022200552.json"), "202301020CLE", DAY
    )
    assert totals == {"CLE": 145, "CHI": 134}
    assert frame.groupby("team")["pts"].sum().to_dict() == {"CHI": 134, "CLE": 145}
    assert len(frame) == 19  # 23 listed, 4 did not play
    mitchell = frame.set_index("player_id").loc["nba:1628378"]
    assert (mitchell.player, mitchell.pts, mitchell.seconds_played) == (
        "Donovan Mitchell",
        71,
        2988,
    )
    assert (mitchell.team, mitchell.opponent, bool(mitchell.is_home), mitchell.outcome) == (
        "CLE",
        "CHI",
        True,
        "W",
    )
    assert "nba:1630596" not in set(frame["player_id"])  # Evan Mobley, DNP - Injury


def test_live_boxscore_reads_the_game_code_and_the_same_numbers():
    frame, totals, info = parse.parse_live_boxscore(live_boxscore_from_v3())
    assert info["game_id"] == "202301020CLE" and info["game_date"] == DAY
    assert (info["away"], info["home"], info["status"]) == ("CHI", "CLE", 3)
    assert totals == {"CLE": 145, "CHI": 134}
    assert frame.groupby("team")["pts"].sum().to_dict() == {"CHI": 134, "CLE": 145}
    assert frame.set_index("player_id").loc["nba:1628378"].seconds_played == 2988
    assert len(frame) == 19


def test_playbyplay_v3_overtime_running_score_and_points():
    payload = load("playbyplayv3_0022200552.json")
    assert parse.teams_of_actions(payload) == ("CHI", "CLE")
    frame = parse.parse_actions(payload, "202301020CLE", DAY, "CHI", "CLE")
    assert len(frame) == 560
    assert frame["event_idx"].tolist() == list(range(560))
    assert sorted(frame["period"].unique()) == [1, 2, 3, 4, 5]
    last = frame.iloc[-1]
    assert (last.away_score, last.home_score, last.period) == (134, 145, 5)
    assert frame.groupby("team")["points"].sum().to_dict() == {"CHI": 134, "CLE": 145}
    assert (
        frame["home_score"].is_monotonic_increasing and frame["away_score"].is_monotonic_increasing
    )
    assert frame.iloc[0].clock_secs == 720.0 and frame.iloc[0].team is None
    first_three = frame[frame["points"] == 3].iloc[0]
    assert (first_three.team, first_three.clock_secs, first_three.away_score) == ("CHI", 701.0, 3)
    assert set(frame["points"].unique()) <= {0, 1, 2, 3}


def test_bad_payloads_are_schema_drift():
    with pytest.raises(SchemaDrift):
        parse.parse_boxscore_v3({"nothing": 1}, "202301020CLE", DAY)
    with pytest.raises(SchemaDrift):
        parse.parse_actions({"game": {"actions": []}}, "202301020CLE", DAY, "CHI", "CLE")
    with pytest.raises(SchemaDrift):
        parse.parse_league_game_log({"resultSets": []})
    with pytest.raises(SchemaDrift):
        parse.load_json("<html>blocked</html>", "x")
    with pytest.raises(SchemaDrift):
        parse.parse_game_code("2023-01-02")


def test_names_normalise_for_the_crosswalk():
    assert parse.normalised_name("Nikola Vučević") == "nikola vucevic"
    assert parse.normalised_name("Derrick Jones Jr.") == "derrick jones"
    assert parse.normalised_name("Shai Gilgeous-Alexander") == "shai gilgeous alexander"


def test_cross_provider_compare_lists_every_disagreement():
    from nba_elt.checks.cross_provider import ProviderView, compare

    games = parse.parse_league_game_log(load("leaguegamelog_2022-23.json"))
    day = games[games["game_date"] == DAY]
    nba = ProviderView("NBA")
    for game in day.itertuples():
        nba.finals[game.game_id] = (int(game.away_pts), int(game.home_pts))
    box, _ = parse.parse_boxscore_v3(
        load("boxscoretraditionalv3_0022200552.json"), "202301020CLE", DAY
    )
    sums = box.groupby("team")["pts"].sum()
    nba.team_points["202301020CLE"] = (int(sums["CHI"]), int(sums["CLE"]))
    # SYNTHETIC basketball-reference view: the NBA's numbers, then one changed on purpose
    bbref = ProviderView("basketball-reference", dict(nba.finals), dict(nba.team_points))
    assert compare(DAY, bbref, nba) == []
    bbref.finals["202301020CLE"] = (134, 143)
    bbref.team_points["202301020CLE"] = (134, 143)
    del bbref.finals["202301020GSW"]
    found = compare(DAY, bbref, nba)
    assert "202301020CLE: final score 134-143 (basketball-reference) vs 134-145 (NBA)" in found
    assert any("team points 134-143" in line for line in found)
    assert "202301020GSW: only the NBA has this game" in found
    assert len(found) == 3


def test_live_actions_follow_their_order_number():
    """liveData actions carry orderNumber (the game's order); an action recorded late
    (SYNTHETIC reordering of the real actions) still lands where it happened."""
    payload = load("playbyplayv3_0022200552.json")
    actions = payload["game"]["actions"]
    for order, action in enumerate(actions, start=1):
        action["orderNumber"] = order * 10
    sixth = actions[5]["description"]
    actions.append(actions.pop(5))  # moved to the end of the array, same orderNumber
    frame = parse.parse_actions(payload, "202301020CLE", DAY, "CHI", "CLE")
    assert frame.iloc[5]["description"] == sixth
    assert frame.iloc[-1]["description"].startswith("End of 1st OT")
    assert frame.groupby("team")["points"].sum().to_dict() == {"CHI": 134, "CLE": 145}
    assert frame["home_score"].is_monotonic_increasing
