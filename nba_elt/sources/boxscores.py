"""Player box scores from the daily leaders page (every player who played that day).

Page: ``/friv/dailyleaders.fcgi?month=M&day=D&year=Y`` (table#stats), the query the
recorded pages answer; when that fails (404, or errors after the retries), the same
page with ``&type=all`` (the query of the page's own navigation links) is tried; not
after a terminal error or the request deadline (a slow site is not asked twice).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection

from nba_elt import teams
from nba_elt.dates import today_eastern
from nba_elt.errors import (
    ConsistencyError,
    DataNotAvailable,
    DeadlineExceeded,
    PageNotFound,
    SchemaDrift,
    SourceError,
)
from nba_elt.extract.html import (
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
from nba_elt.extract.http import HttpClient
from nba_elt.sources import scoreboard
from nba_elt.sources.base import (
    DateKeyedSource,
    SourceContext,
    Unit,
    final_since,
    is_final_day,
    playable,
    record_written,
    scheduled_games,
)
from nba_elt.sources.crosscheck import final_games, score_disagreements, team_points
from nba_elt.warehouse.crosswalk import write_boxscores

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
    except SourceError as exc:  # 404 (or a server that knows only the other query)
        if exc.terminal or isinstance(exc, DeadlineExceeded):
            raise  # a slow site is not asked a second page
        alt = daily_path(day, with_type=True)
        log.info("%s failed (%s); trying %s", path, exc, alt)
        try:
            return alt, client.get(alt, final=final)
        except SourceError as alt_exc:
            if alt_exc.terminal:
                raise
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
    return boxscore_frame(records)


def boxscore_frame(records: list[dict]) -> pd.DataFrame:
    """Player rows (dicts of COLUMNS) as the frame every provider loads: typed columns, one
    row per (game_id, player_id), the first kept."""
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    frame["is_home"] = frame["is_home"].astype(bool)
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    frame["game_score"] = frame["game_score"].astype("float64")
    frame = frame.drop_duplicates(["game_id", "player_id"], keep="first")
    return frame.reset_index(drop=True)


_TEAM_POINTS = sql(
    "select game_id, team, sum(pts) as pts from nba_source.boxscores where game_date = :d "
    "group by game_id, team"
)


def boxscores_agree(conn: Connection, day: dt.date, game_id: str | None = None) -> bool:
    """Box score rows are loaded for every final game of ``day`` (or for ``game_id``, final)
    and add up to the final scores. Loaded but inconsistent (rows lost since) is not
    complete, so a plain backfill repairs it without --force."""
    finals = final_games(scheduled_games(conn, day))
    if game_id is not None:
        finals = [g for g in finals if g.game_id == game_id]
        if not finals:
            return False
    rows = conn.execute(_TEAM_POINTS, {"d": day}).all()
    players = pd.DataFrame(rows, columns=["game_id", "team", "pts"])
    loaded = set(players["game_id"])
    return (
        bool(loaded)
        and {g.game_id for g in finals} <= loaded
        and not score_disagreements(finals, team_points(players, finals))
    )


def check_against_schedule(unit_key: str, frame: pd.DataFrame, known: pd.DataFrame) -> None:
    """Every final game of the schedule is on the page and its players add up to its score."""
    finals = known[known["status"] == "final"]
    missing = sorted(set(finals["game_id"]) - set(frame["game_id"]))
    if missing:
        raise DataNotAvailable(
            f"boxscores {unit_key}: the daily page lacks final game(s) {', '.join(missing)} "
            "of the schedule; retry later"
        )
    games = final_games(finals)
    disagreements = score_disagreements(games, team_points(frame, games))
    if disagreements:
        team, players, final_pts = disagreements[0].first_team()
        raise ConsistencyError(
            f"boxscores {unit_key}: {team}'s players score {players} points in "
            f"{disagreements[0].game.game_id} but the schedule's final score is {final_pts}"
        )


@dataclass(frozen=True)
class BoxscoresFacts:
    """What the unit checks its rows against: its page is whole, and the day's final
    scores (from nba_source.schedule, or the scoreboard page when the schedule lacks them)."""

    unit_key: str
    page: str
    whole: bool
    finals: pd.DataFrame  # game_id, away_team, home_team, away_pts, home_pts, status
    finals_from: str


def check_unit(frame: pd.DataFrame, facts: BoxscoresFacts) -> None:
    """Every game on the page has a known final score and its players add up to it, and
    every known final game is on the page. ConsistencyError / DataNotAvailable otherwise."""
    if not facts.whole:
        raise ConsistencyError(f"{facts.page}: the page is truncated (no </html>); not loaded")
    finals = facts.finals[facts.finals["status"] == "final"]
    unchecked = sorted(set(frame["game_id"]) - set(finals["game_id"]))
    if unchecked:
        raise ConsistencyError(
            f"boxscores {facts.unit_key}: no final score for game(s) {', '.join(unchecked)} "
            f"in {facts.finals_from}; the rows cannot be checked, so they are not loaded"
        )
    check_against_schedule(facts.unit_key, frame, finals)


def finals_of_day(
    day: dt.date, ctx: SourceContext, known: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """The day's final scores: nba_source.schedule's, else the scoreboard page's (one
    request), so the team-sum check runs whatever else is loaded."""
    if not known.empty and (known["status"] != "scheduled").all():
        return known, "nba_source.schedule"
    board = scoreboard.read_scoreboard(ctx.client, day)
    board["status"] = "scheduled"
    board.loc[board["away_pts"].notna() & board["home_pts"].notna(), "status"] = "final"
    return board, ctx.client.url_for(scoreboard.scoreboard_path(day))


class BoxscoresSource(DateKeyedSource):
    """Every player's box score of one date, from the daily leaders page."""

    name = "boxscores"
    provider = "bbref"

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        return [ctx.client.url_for(daily_path(unit.game_date))]

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        if not is_final_day(unit.game_date):
            return False
        with ctx.engine.connect() as conn:
            return boxscores_agree(conn, unit.game_date)

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        from nba_elt.sources.games import games_from_site

        day, client = unit.game_date, ctx.client
        try:
            path, html = fetch_daily(client, day, final=final_since(day))
        except PageNotFound as exc:
            if not is_final_day(day):
                raise DataNotAvailable(
                    f"boxscores {day}: the daily page is not published yet"
                ) from exc
            raise
        page = client.url_for(path)
        if not has_stats_table(html, page):
            html = client.refetch(path)  # an archived copy may predate publication
        with ctx.engine.connect() as conn:
            known = scheduled_games(conn, day)
        if not has_stats_table(html, page):
            expected = playable(known) if not known.empty else games_from_site(day, ctx)
            if expected or day >= today_eastern():
                raise DataNotAvailable(
                    f"boxscores {day}: {page} has no player table yet although "
                    f"{len(expected)} game(s) were scheduled; retry later"
                )
            log.info("boxscores %s: no games that day", day)
            return 0
        frame = parse_boxscores(html, day, page=page)
        whole = html.rstrip().lower().endswith("</html>")
        finals, finals_from = finals_of_day(day, ctx, known) if whole else (known, "")
        check_unit(frame, BoxscoresFacts(unit.unit_key, page, whole, finals, finals_from))
        with ctx.engine.begin() as conn:
            return record_written(ctx, conn, write_boxscores(conn, frame, self.provider))


SOURCE = BoxscoresSource()
