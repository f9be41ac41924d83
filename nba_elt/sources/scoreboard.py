"""The day's games from the scoreboard page ``/boxscores/?month=M&day=D&year=Y``.

Used when nba_source.schedule does not hold a date: to list the games whose
play-by-play to load, and to tell "no games that day" from "not published yet".
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from nba_elt import teams
from nba_elt.errors import ConsistencyError
from nba_elt.extract.html import (
    GAME_LINK,
    TEAM_LINK,
    parse_document,
    require_whole_page,
    text,
    to_int,
)
from nba_elt.extract.http import HttpClient
from nba_elt.sources.base import final_since

COLUMNS = ["game_id", "game_date", "away_team", "home_team", "away_pts", "home_pts"]


def scoreboard_path(day: dt.date) -> str:
    return f"/boxscores/?month={day.month}&day={day.day}&year={day.year}"


def read_scoreboard(client: HttpClient, day: dt.date) -> pd.DataFrame:
    """The day's scoreboard page, fetched (final once the day is), parsed and checked."""
    page = client.url_for(scoreboard_path(day))
    html = client.get(scoreboard_path(day), final=final_since(day))
    board = parse_scoreboard(html, day, page=page)
    check_unit(html, board, page=page)
    return board


def parse_scoreboard(
    html: str, game_date: dt.date, *, page: str = "scoreboard page"
) -> pd.DataFrame:
    """One row per game of the day (key: game_id): teams (NBA codes) and points when played.

    Each ``div.game_summary`` holds table.teams with the away team first; the game id is
    taken from its box score / play-by-play link, or built from the date and the home team
    for a game not played yet.
    """
    doc = parse_document(html, page)
    records = []
    for summary in doc.xpath('//div[contains(concat(" ", @class, " "), " game_summary ")]'):
        rows = summary.xpath('.//table[contains(@class, "teams")]//tr')
        sides = []
        for row in rows:
            codes = [TEAM_LINK.search(h) for h in row.xpath(".//a/@href")]
            codes = [m.group(1) for m in codes if m]
            if codes:
                tds = row.xpath("./td")
                points = to_int(text(tds[1]), what="points", page=page) if len(tds) > 1 else None
                sides.append((teams.nba_code(codes[0], page=page), points))
        if len(sides) < 2:
            continue
        (away, away_pts), (home, home_pts) = sides[0], sides[1]
        game_ids = [GAME_LINK.search(h) for h in summary.xpath(".//a/@href")]
        game_ids = [m.group(1) for m in game_ids if m]
        game_id = game_ids[0] if game_ids else f"{game_date:%Y%m%d}0{teams.bbref_code(home)}"
        records.append(
            {
                "game_id": game_id,
                "game_date": game_date,
                "away_team": away,
                "home_team": home,
                "away_pts": away_pts,
                "home_pts": home_pts,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["away_pts"] = frame["away_pts"].astype("Int64")
    frame["home_pts"] = frame["home_pts"].astype("Int64")
    return frame.drop_duplicates("game_id").reset_index(drop=True)


def check_unit(html: str, frame: pd.DataFrame, *, page: str = "scoreboard page") -> None:
    """The scoreboard proves itself: the page is whole and each game has two different
    teams and either both scores or none."""
    require_whole_page(html, page)
    for game in frame.itertuples():
        if game.away_team == game.home_team:
            raise ConsistencyError(f"{page}: {game.game_id} lists {game.home_team} twice")
        if pd.isna(game.away_pts) != pd.isna(game.home_pts):
            raise ConsistencyError(f"{page}: {game.game_id} has one team's score only")
