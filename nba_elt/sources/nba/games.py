"""Which games a day has, and NBA game id <-> warehouse game id, from the NBA's data.

A day's games: the season's league game log for past days (one request per season and
season type, archived: a finished season is never fetched again), scoreboardv3 for
yesterday, today and tomorrow. An NBA game id resolves to the warehouse id through, in
this order: nba_source.schedule (nba_game_id), the CDN box score's gameCode, the season's
league game log.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
from sqlalchemy import text as sql

from nba_elt.dates import season_of, today_eastern
from nba_elt.errors import BadInput, PageNotFound, SiteBlocked, SourceError
from nba_elt.extract.html import date_of_game
from nba_elt.sources.base import SourceContext, final_since, playable, scheduled_games
from nba_elt.sources.nba import hosts, parse

log = logging.getLogger(__name__)

SCOREBOARD_DAYS = 1  # days either side of today served by scoreboardv3


def _game_log_final(season: int, day: dt.date | None) -> bool | dt.date:
    """A finished season's log never changes; this season's counts once fetched after ``day``."""
    if season < season_of(today_eastern()):
        return True
    return final_since(day) if day is not None else False


def season_games(
    ctx: SourceContext, season: int, game_type: str = "regular", *, day: dt.date | None = None
) -> pd.DataFrame:
    """Every game of a season type from the league game log (finals only)."""
    client = hosts.stats(ctx)
    path = hosts.game_log_path(parse.season_label(season), game_type)
    parsed = ctx.clients.setdefault("game_logs", {})  # within a run, a log is read once
    if path not in parsed:
        payload = hosts.get_json(client, path, final=_game_log_final(season, day))
        parsed[path] = parse.parse_league_game_log(payload, page=client.url_for(path))
    return parsed[path]


def scoreboard_games(ctx: SourceContext, day: dt.date) -> pd.DataFrame:
    client = hosts.stats(ctx)
    path = hosts.scoreboard_path(day)
    payload = hosts.get_json(client, path, final=final_since(day))
    return parse.parse_scoreboard_v3(payload, page=client.url_for(path))


def uses_scoreboard(day: dt.date) -> bool:
    return abs((day - today_eastern()).days) <= SCOREBOARD_DAYS


def games_of_day(ctx: SourceContext, day: dt.date) -> pd.DataFrame:
    """The day's games (schedule columns + nba_game_id) from the NBA."""
    if uses_scoreboard(day):
        return scoreboard_games(ctx, day).reset_index(drop=True)
    season = season_of(day)
    found = season_games(ctx, season, "regular", day=day)
    on_day = found[found["game_date"] == day]
    if on_day.empty and 4 <= day.month <= 10:  # past the regular season: play-in, playoffs
        for game_type in ("playin", "playoffs"):
            try:
                found = season_games(ctx, season, game_type, day=day)
            except PageNotFound:
                continue
            on_day = found[found["game_date"] == day]
            if not on_day.empty:
                break
    return on_day.reset_index(drop=True)


def warehouse_games(ctx: SourceContext, day: dt.date) -> pd.DataFrame:
    with ctx.engine.connect() as conn:
        return scheduled_games(conn, day)


def game_ids_on(ctx: SourceContext, day: dt.date) -> list[str]:
    """Warehouse ids of the day's playable games: nba_source.schedule, else the NBA."""
    known = warehouse_games(ctx, day)
    if known.empty:
        known = games_of_day(ctx, day)
    return playable(known)


def game_of(ctx: SourceContext, game_id: str) -> dict:
    """The schedule facts of one warehouse game with its NBA id (the warehouse's when it
    has it, else the NBA's schedule of that day). SourceError when the NBA lacks it."""
    day = date_of_game(game_id)
    known = warehouse_games(ctx, day)
    row = known[known["game_id"] == game_id]
    if not row.empty and pd.notna(row.iloc[0]["nba_game_id"]):
        return row.iloc[0].to_dict()
    try:
        listed = games_of_day(ctx, day)
    except SiteBlocked:
        raise
    except SourceError:
        listed = cdn_games_on(ctx, day)  # a game resolved through its CDN box score
        if listed.empty:
            raise
    match = listed[listed["game_id"] == game_id]
    if match.empty:
        raise PageNotFound(
            f"{game_id}: the NBA's schedule of {day} has no game at "
            f"{game_id[-3:]} (games: {', '.join(listed['game_id']) or 'none'})"
        )
    facts = match.iloc[0].to_dict()
    if not row.empty:  # the warehouse's status / score stays the reference
        facts |= {k: row.iloc[0][k] for k in ("away_pts", "home_pts", "status")}
    return facts


def remember_cdn_game(ctx: SourceContext, row: pd.DataFrame) -> None:
    """A game resolved through the CDN: its schedule row, should the game log be unreadable."""
    ctx.clients.setdefault("cdn_games", []).append(row)


def cdn_games_on(ctx: SourceContext, day: dt.date) -> pd.DataFrame:
    rows = [r for r in ctx.clients.get("cdn_games", []) if r.iloc[0]["game_date"] == day]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def resolve_nba_game_id(ctx: SourceContext, nba_game_id: str) -> str:
    """The warehouse id of an NBA game id; BadInput when no source knows the game."""
    with ctx.engine.connect() as conn:
        known = conn.execute(
            sql("select game_id from nba_source.schedule where nba_game_id = :n"),
            {"n": nba_game_id},
        ).scalar()
    if known:
        return known
    client = hosts.cdn(ctx)
    try:
        payload = hosts.get_json(client, hosts.cdn_boxscore_path(nba_game_id), final=False)
        _, totals, info = parse.parse_live_boxscore(payload, page=client.host)
        remember_cdn_game(ctx, parse.schedule_from_live(info, totals))
        return info["game_id"]
    except (SourceError, KeyError, TypeError) as exc:
        if isinstance(exc, SiteBlocked):
            log.warning("the CDN is blocking this client: %s", exc)
        log.info("%s: not resolved by the CDN (%s); reading the league game log", nba_game_id, exc)
    season = parse.season_of_game(nba_game_id)
    try:
        games = season_games(ctx, season, parse.game_type_of(nba_game_id))
    except SourceError as exc:
        if not isinstance(exc, PageNotFound):  # an outage is not bad input: exit 1 (or 75)
            log.warning(
                "NBA game %s: not in nba_source.schedule, and no NBA host answered", nba_game_id
            )
            raise
        raise BadInput(
            f"NBA game {nba_game_id}: not in nba_source.schedule, and neither the CDN nor the "
            f"{parse.season_label(season)} league game log could be read ({exc})"
        ) from exc
    match = games[games["nba_game_id"] == nba_game_id]
    if match.empty:
        raise BadInput(
            f"NBA game {nba_game_id} is not in the {parse.season_label(season)} league game log"
        )
    return str(match.iloc[0]["game_id"])
