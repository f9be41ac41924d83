"""Parsers against real recorded basketball-reference pages (tests/fixtures/bbref)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nba_elt.errors import SchemaDrift
from nba_elt.sources import boxscores, pbp, schedule, scoreboard
from nba_elt.sources.boxscores import parse_boxscores
from nba_elt.sources.crosscheck import FinalGame, score_disagreements, team_points
from nba_elt.sources.pbp import parse_pbp
from nba_elt.sources.schedule import parse_schedule
from nba_elt.sources.scoreboard import parse_scoreboard

BBREF = Path(__file__).parent.parent / "fixtures" / "bbref"
NEW_YEAR = dt.date(2018, 1, 1)


def page(name: str) -> str:
    return (BBREF / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def daily():
    return parse_boxscores(page("dailyleaders/2018-01-01.html"), NEW_YEAR)


def test_daily_leaders_has_every_player_once(daily):
    assert len(daily) == 82
    assert list(daily.columns) == boxscores.COLUMNS
    assert not daily.duplicated(["game_id", "player_id"]).any()
    assert set(daily["game_id"]) == {
        "201801010BRK",
        "201801010CHI",
        "201801010MIN",
        "201801010TOR",
    }


def test_derozan_52_points(daily):
    row = daily.set_index("player_id").loc["derozde01"]
    assert row["player"] == "DeMar DeRozan"
    assert (row["team"], row["opponent"], row["is_home"], row["outcome"]) == (
        "TOR",
        "MIL",
        True,
        "W",
    )
    assert row["pts"] == 52
    assert row["seconds_played"] == 43 * 60 + 27
    assert (row["fgm"], row["fga"], row["fg3m"], row["ftm"], row["fta"]) == (17, 29, 5, 13, 13)
    assert row["plus_minus"] == 9
    assert float(row["game_score"]) == pytest.approx(44.1)
    assert row["game_id"] == "201801010TOR"


def test_team_sums_equal_final_scores_and_codes_are_the_nbas(daily):
    finals = [  # the day's final scores, as the recorded month page prints them
        FinalGame("201801010TOR", "MIL", "TOR", (127, 131)),
        FinalGame("201801010CHI", "POR", "CHI", (124, 120)),
        FinalGame("201801010MIN", "LAL", "MIN", (96, 114)),
        FinalGame("201801010BRK", "ORL", "BKN", (95, 98)),
    ]
    sums = team_points(daily, finals)
    assert sums == {g.game_id: g.score for g in finals}
    assert score_disagreements(finals, sums) == []
    wrong = FinalGame("201801010TOR", "MIL", "TOR", (127, 79))
    (found,) = score_disagreements([wrong], sums)
    assert found.first_team() == ("TOR", 131, 79)
    assert "BRK" not in set(daily["team"]) | set(daily["opponent"])
    # home side from the game id: Brooklyn hosted Orlando
    nets = daily[daily["team"] == "BKN"]
    assert nets["is_home"].all() and not daily[daily["team"] == "ORL"]["is_home"].any()


def test_repeated_header_rows_are_not_players(daily):
    assert "Player" not in set(daily["player"])
    assert daily["player_id"].str.fullmatch(r"[a-z.'-]+\d{2}").all()


def test_daily_page_without_table_and_missing_columns():
    assert not boxscores.has_stats_table("<html><body><p>No games</p></body></html>")
    html = page("dailyleaders/2018-01-01.html").replace('data-stat="pts"', 'data-stat="points"')
    with pytest.raises(SchemaDrift, match="pts"):
        parse_boxscores(html, NEW_YEAR, page="/friv/dailyleaders.fcgi?x")


def test_table_hidden_in_a_comment_is_found():
    html = page("dailyleaders/2018-01-01.html")
    start = html.index('<div class="table_container" id="div_stats">')
    end = html.index("</table>", start) + len("</table>")
    hidden = html[:start] + "<!--" + html[start:end] + "-->" + html[end:]
    assert len(parse_boxscores(hidden, NEW_YEAR)) == 82


def test_january_2018_schedule():
    frame = parse_schedule(page("schedule/NBA_2018_games-january.html"))
    assert len(frame) == 216
    assert list(frame.columns) == schedule.COLUMNS
    assert set(frame["season"]) == {2018}
    assert set(frame["status"]) == {"final"}
    assert frame["game_date"].min() == NEW_YEAR and frame["game_date"].max() == dt.date(2018, 1, 31)
    new_year = frame[frame["game_date"] == NEW_YEAR].set_index("game_id")
    assert len(new_year) == 4
    nets = new_year.loc["201801010BRK"]
    assert (nets["away_team"], nets["away_pts"], nets["home_team"], nets["home_pts"]) == (
        "ORL",
        95,
        "BKN",
        98,
    )
    toronto = new_year.loc["201801010TOR"]
    assert (toronto["away_pts"], toronto["home_pts"], toronto["overtimes"]) == (127, 131, 1)
    assert toronto["start_time"] == "19:30" and toronto["arena"] == "Air Canada Centre"


def test_april_2018_schedule_has_playoffs_after_the_separator():
    frame = parse_schedule(page("schedule/NBA_2018_games-april.html"))
    assert len(frame) == 136
    counts = frame["game_type"].value_counts().to_dict()
    assert counts == {"regular": 88, "playoffs": 48}
    regular = frame[frame["game_type"] == "regular"]
    playoffs = frame[frame["game_type"] == "playoffs"]
    assert regular["game_date"].max() == dt.date(2018, 4, 11)
    assert playoffs["game_date"].min() == dt.date(2018, 4, 14)
    first = playoffs.set_index("game_id").loc["201804140GSW"]
    assert (first["away_team"], first["away_pts"], first["home_pts"]) == ("SAS", 92, 113)
    assert frame.loc[frame["game_id"] == "201804010CHO", "home_team"].item() == "CHA"


def _blank_scores(row: str) -> str:
    for stat in ("visitor_pts", "home_pts"):
        start = row.index(f'data-stat="{stat}" >') + len(f'data-stat="{stat}" >')
        row = row[:start] + row[row.index("<", start) :]
    return row


def test_unplayed_and_postponed_games():
    html = page("schedule/NBA_2018_games-january.html")
    rows = html.split('<tr ><th scope="row"')
    rows[1] = _blank_scores(rows[1])  # not played yet
    rows[2] = _blank_scores(rows[2]).replace(
        'data-stat="game_remarks" ></td>', 'data-stat="game_remarks" >Postponed</td>'
    )
    frame = parse_schedule('<tr ><th scope="row"'.join(rows))
    assert len(frame) == 216
    assert frame["status"].iloc[:3].tolist() == ["scheduled", "postponed", "final"]
    assert frame[["away_pts", "home_pts"]].iloc[:2].isna().all().all()


def test_schedule_month_links_and_paths():
    links = schedule.month_links(page("schedule/NBA_2018_games-april.html"))
    assert links[0] == "/leagues/NBA_2018_games-october.html"
    assert "/leagues/NBA_2018_games-june.html" in links
    assert schedule.month_path(2018, "january") == "/leagues/NBA_2018_games-january.html"
    assert schedule.page_season(page("schedule/NBA_2018_games-april.html")) == 2018


def test_schedule_without_its_table_is_schema_drift():
    with pytest.raises(SchemaDrift, match="table#schedule"):
        parse_schedule("<html><body><table id='other'></table></body></html>", page="/leagues/x")


@pytest.mark.parametrize(
    ("game_id", "away", "home", "final"),
    [
        ("201901010DEN", "NYK", "DEN", (108, 115)),
        ("201810160GSW", "OKC", "GSW", (100, 108)),
        ("201810270MIL", "ORL", "MIL", (91, 113)),
    ],
)
def test_pbp_every_event_and_final_score(game_id, away, home, final):
    frame = parse_pbp(page(f"pbp/{game_id}.html"), game_id)
    assert list(frame.columns) == pbp.COLUMNS
    assert frame["event_idx"].tolist() == list(range(len(frame)))
    assert pbp.final_score(frame) == final
    assert sorted(frame["period"].unique()) == [1, 2, 3, 4]
    assert set(frame["team"].dropna()) == {away, home}
    assert frame["game_date"].iloc[0] == dt.date(
        int(game_id[:4]), int(game_id[4:6]), int(game_id[6:8])
    )
    # points of the events add up to the final score
    assert frame.loc[frame["team"] == away, "points"].sum() == final[0]
    assert frame.loc[frame["team"] == home, "points"].sum() == final[1]
    assert frame["clock_secs"].between(0, 720).all()


def test_pbp_neutral_events_and_clock():
    frame = parse_pbp(page("pbp/201901010DEN.html"), "201901010DEN")
    first = frame.iloc[0]
    assert first["description"].startswith("Jump ball")
    assert first["team"] is None and first["clock_secs"] == 720.0 and first["period"] == 1
    assert frame.iloc[-1]["description"] == "End of 4th quarter"
    starts = frame[frame["description"].str.startswith("Start of")]
    assert starts["period"].tolist() == [2, 3, 4]
    ends = frame[frame["description"].str.startswith("End of")]
    assert ends["period"].tolist() == [1, 2, 3, 4]
    assert (ends["clock_secs"] == 0).all()
    three = frame.iloc[3]
    assert (three["team"], three["points"], three["away_score"], three["home_score"]) == (
        "NYK",
        3,
        3,
        0,
    )
    assert three["clock_secs"] == 11 * 60 + 16


def test_pbp_overtime_periods_are_5_and_up():
    html = page("pbp/201901010DEN.html")
    # the site labels an overtime header "1st OT" and opens it with "Start of 1st overtime"
    end = html.index("</table>", html.index('id="pbp"'))
    extra = (
        '<tr class=\'thead\' id="q5"><th colspan="6">1st OT</th></tr>'
        '<tr><td>5:00.0</td><td colspan="5">Start of 1st overtime</td></tr>'
        "<tr><td>4:40.0</td><td class='bbr-play-score'>X makes 2-pt layup</td>"
        "<td>+2</td><td>110-115</td><td>&nbsp;</td><td>&nbsp;</td></tr>"
        '<tr><td>0:00.0</td><td colspan="5">End of 1st overtime</td></tr>'
    )
    frame = parse_pbp(html[:end] + extra + html[end:], "201901010DEN")
    overtime = frame[frame["period"] == 5]
    assert len(overtime) == 3
    assert overtime.iloc[0]["clock_secs"] == 300.0
    assert pbp.final_score(frame) == (110, 115)


def test_pbp_layout_change_is_schema_drift():
    html = page("pbp/201901010DEN.html").replace('id="pbp"', 'id="plays"')
    with pytest.raises(SchemaDrift, match="table#pbp"):
        parse_pbp(html, "201901010DEN")


def test_scoreboard_lists_the_days_games():
    frame = parse_scoreboard(page("scoreboard/2018-01-01.html"), NEW_YEAR)
    assert list(frame.columns) == scoreboard.COLUMNS
    games = frame.set_index("game_id")[["away_team", "home_team", "away_pts", "home_pts"]]
    assert games.loc["201801010BRK"].tolist() == ["ORL", "BKN", 95, 98]
    assert games.loc["201801010TOR"].tolist() == ["MIL", "TOR", 127, 131]
    assert len(games) == 4


def test_a_did_not_play_row_is_skipped():
    html = page("dailyleaders/2018-01-01.html")
    start = html.index('<td class="right " data-stat="mp" csk="2607" >')
    end = html.index("</tr>", start)
    dnp = (
        html[:start]
        + '<td class="center" data-stat="reason" colspan="21">Did Not Play</td>'
        + html[end:]
    )
    frame = parse_boxscores(dnp, NEW_YEAR)
    assert len(frame) == 81 and "derozde01" not in set(frame["player_id"])
