"""Player box scores from the daily leaders page (every player who played that day).

Page: ``/friv/dailyleaders.fcgi?month=M&day=D&year=Y`` (table#stats), the query the
recorded pages answer; when that fails (404, or errors after the retries), the same
page with ``&type=all`` (the query of the page's own navigation links) is tried.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from nba_elt import teams
from nba_elt.errors import SchemaDrift, SiteBlocked, SourceError
from nba_elt.http import HttpClient
from nba_elt.sources.html import (
    GAME_LINK,
    body_rows,
    cells,
    find_table,
    is_header_row,
    parse_document,
    require_columns,
    text,
    to_float,
    to_int,
)

log = logging.getLogger(__name__)

COLUMNS = [
    "game_id", "player_id", "game_date", "player", "team", "opponent", "is_home", "outcome",
    "seconds_played", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb",
    "ast", "stl", "blk", "tov", "pf", "pts", "plus_minus", "game_score",
]  # fmt: skip
# our column <- the page's data-stat
STATS = {
    "fgm": "fg", "fga": "fga", "fg3m": "fg3", "fg3a": "fg3a", "ftm": "ft", "fta": "fta",
    "oreb": "orb", "dreb": "drb", "reb": "trb", "ast": "ast", "stl": "stl", "blk": "blk",
    "tov": "tov", "pf": "pf", "pts": "pts",
}  # fmt: skip
REQUIRED = ["player", "team_id", "opp_id", "game_result", "mp", *STATS.values()]
INT_COLUMNS = ["seconds_played", *STATS, "plus_minus"]


def daily_path(day: dt.date, *, with_type: bool = False) -> str:
    path = f"/friv/dailyleaders.fcgi?month={day.month}&day={day.day}&year={day.year}"
    return path + "&type=all" if with_type else path


def fetch_daily(
    client: HttpClient, day: dt.date, *, final: bool | dt.date = False
) -> tuple[str, str]:
    """(path, html) of the daily leaders page of ``day``."""
    path = daily_path(day)
    try:
        return path, client.get(path, final=final)
    except SiteBlocked:
        raise
    except SourceError as exc:  # 404 (or a server that knows only the other query)
        alt = daily_path(day, with_type=True)
        log.info("%s failed (%s); trying %s", path, exc, alt)
        try:
            return alt, client.get(alt, final=final)
        except SiteBlocked:
            raise
        except SourceError:
            raise exc from None


def has_stats_table(html: str, page: str = "daily leaders page") -> bool:
    return find_table(parse_document(html, page), "stats") is not None


def minutes_to_seconds(value: str, page: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    minutes, _, seconds = value.partition(":")
    try:
        return int(minutes) * 60 + int(seconds or 0)
    except ValueError:
        raise SchemaDrift(f"{page}: minutes played {value!r} is not MM:SS") from None


def parse_boxscores(
    html: str, game_date: dt.date, *, page: str = "daily leaders page"
) -> pd.DataFrame:
    """One row per player per game played on ``game_date`` (key: game_id, player_id).

    Columns are those of nba_source.boxscores (minus _loaded_at); team codes are the NBA's.
    Raises SchemaDrift when table#stats or one of its data-stat columns is missing.
    """
    doc = parse_document(html, page)
    table = find_table(doc, "stats")
    if table is None:
        raise SchemaDrift(f"{page}: table#stats is missing")
    require_columns(table, REQUIRED, "stats", page)
    records = []
    for row in body_rows(table):
        if is_header_row(row):
            continue
        c = cells(row)
        player_cell = c.get("player")
        if player_cell is None or not text(player_cell):
            continue
        player_id = player_cell.get("data-append-csv")
        if not player_id:
            links = player_cell.xpath(".//a/@href")
            player_id = links[0].rsplit("/", 1)[-1].removesuffix(".html") if links else None
        if not player_id:
            raise SchemaDrift(f"{page}: a row for {text(player_cell)!r} has no player id")
        if any(stat not in c for stat in REQUIRED):  # e.g. a "Did Not Play" row spanning cells
            log.info("%s: skipping the row of %s (%s)", page, player_id, text(row))
            continue
        result_cell = c["game_result"]
        game_links = [GAME_LINK.search(h) for h in result_cell.xpath(".//a/@href")]
        game_ids = [m.group(1) for m in game_links if m]
        if not game_ids:
            raise SchemaDrift(f"{page}: the row of {player_id} does not link its box score")
        game_id = game_ids[0]
        team = teams.nba_code(text(c["team_id"]), page=page)
        opponent = teams.nba_code(text(c["opp_id"]), page=page)
        home_code = teams.nba_code(game_id[-3:], page=page)
        if home_code in (team, opponent):
            is_home = team == home_code
        else:
            is_home = text(c.get("game_location")) != "@"
        outcome = text(result_cell)[:1] or None
        record = {
            "game_id": game_id,
            "player_id": player_id,
            "game_date": game_date,
            "player": text(player_cell),
            "team": team,
            "opponent": opponent,
            "is_home": is_home,
            "outcome": outcome if outcome in ("W", "L") else None,
            "seconds_played": minutes_to_seconds(text(c["mp"]), page),
            "plus_minus": to_int(text(c.get("plus_minus")), what="plus/minus", page=page),
            "game_score": to_float(text(c.get("game_score"))),
        }
        for ours, stat in STATS.items():
            record[ours] = to_int(text(c[stat]), what=stat, page=page)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    frame["is_home"] = frame["is_home"].astype(bool)
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    frame = frame.drop_duplicates(["game_id", "player_id"], keep="first")
    return frame.reset_index(drop=True)


def team_points(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    """{(game_id, team): sum of player points}."""
    sums = frame.groupby(["game_id", "team"])["pts"].sum()
    return {key: int(value) for key, value in sums.items()}
