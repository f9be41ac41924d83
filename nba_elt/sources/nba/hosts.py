"""The NBA's two hosts: their clients (headers, budgets), paths and JSON fetching.

- CDN (NBA_ELT_NBA_CDN_URL): liveData box score and play-by-play of a game, 2019-20 on;
  answers 403 unless the request carries ``Referer: https://www.nba.com/``.
- stats (NBA_ELT_NBA_STATS_URL): league game log, scoreboardv3, boxscoretraditionalv3,
  playbyplayv3; wants browser-like headers (those nba_api sends, recorded in
  tests/fixtures/nba_stats/*.meta.json). Paths and queries are exactly nba_api's.

Both go through the project's polite HttpClient (one budget per host, retries, raw
archive keyed by path + query: the NBA's paths never collide with the site's).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from nba_elt.errors import PageNotFound, SiteBlocked, SourceError
from nba_elt.extract.http import HttpClient
from nba_elt.sources.base import SourceContext
from nba_elt.sources.nba.parse import load_json

log = logging.getLogger(__name__)

NBA_REFERER = "https://www.nba.com/"
CDN_HEADERS = {
    "Referer": NBA_REFERER,
    "Origin": "https://www.nba.com",
    "Accept": "application/json, text/plain, */*",
}
STATS_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/145.0.0.0 Safari/537.36"
    ),
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.5",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Referer": NBA_REFERER,
    "Origin": "https://www.nba.com",
    "Sec-Ch-Ua": '"Not:A-Brand";v="99", "Google Chrome";v="145", "Chromium";v="145"',
    "Sec-Ch-Ua-Mobile": "?0",
    "Sec-Fetch-Dest": "empty",
}
SEASON_TYPES = {"regular": "Regular+Season", "playoffs": "Playoffs", "playin": "PlayIn"}


def cdn_boxscore_path(nba_game_id: str) -> str:
    return f"/static/json/liveData/boxscore/boxscore_{nba_game_id}.json"


def cdn_pbp_path(nba_game_id: str) -> str:
    return f"/static/json/liveData/playbyplay/playbyplay_{nba_game_id}.json"


def stats_boxscore_path(nba_game_id: str) -> str:
    return (
        "/stats/boxscoretraditionalv3?EndPeriod=0&EndRange=0"
        f"&GameID={nba_game_id}&RangeType=0&StartPeriod=0&StartRange=0"
    )


def stats_pbp_path(nba_game_id: str) -> str:
    return f"/stats/playbyplayv3?EndPeriod=0&GameID={nba_game_id}&StartPeriod=0"


def game_log_path(season_label: str, game_type: str = "regular") -> str:
    return (
        "/stats/leaguegamelog?Counter=0&DateFrom=&DateTo=&Direction=ASC&LeagueID=00"
        f"&PlayerOrTeam=T&Season={season_label}&SeasonType={SEASON_TYPES[game_type]}"
        "&Sorter=DATE"
    )


def scoreboard_path(day: dt.date) -> str:
    return f"/stats/scoreboardv3?GameDate={day.isoformat()}&LeagueID=00"


def _client(ctx: SourceContext, which: str) -> HttpClient:
    """The run's client of one NBA host, made on first use like the site's own."""
    if which not in ctx.clients:
        base, cdn = ctx.client, which == "cdn"
        ctx.clients[which] = HttpClient(
            base.settings,
            base.offline,
            archive=base.archive,
            sleep=base._sleep,
            base_url=base.settings.nba_cdn_url if cdn else base.settings.nba_stats_url,
            headers=CDN_HEADERS if cdn else STATS_HEADERS,
        )
    return ctx.clients[which]


def cdn(ctx: SourceContext) -> HttpClient:
    return _client(ctx, "cdn")


def stats(ctx: SourceContext) -> HttpClient:
    return _client(ctx, "stats")


def get_json(client: HttpClient, path: str, *, final: bool | dt.date = False) -> Any:
    """The parsed JSON of a path; SchemaDrift when the body is not JSON.

    A 404 is remembered by the client for the rest of the run (the CDN lacks older
    games: resolving an id and loading the game would otherwise ask twice).
    """
    missing = getattr(client, "nba_missing", None)
    if missing is None:
        missing = client.nba_missing = {}
    if path in missing:
        raise missing[path]
    try:
        body = client.get(path, final=final)
    except PageNotFound as exc:
        missing[path] = exc
        raise
    return load_json(body, client.url_for(path))


def first_available(
    attempts: list[tuple[HttpClient, str]], *, final: bool | dt.date
) -> tuple[HttpClient, str, Any]:
    """(client, path, JSON) of the first of ``attempts`` that answers.

    The CDN first, stats.nba.com when the CDN has no file for the game (404, older
    games) or keeps failing; a 403 of one host does not stop the other from being tried.
    Raises an error other than a 404 when there is one (a block or an outage says more
    than "not here"), else the first 404.
    """
    errors: list[SourceError] = []
    for client, path in attempts:
        try:
            return client, path, get_json(client, path, final=final)
        except SiteBlocked as exc:
            log.warning("%s: %s; trying the next NBA host", client.host, exc)
            errors.append(exc)
        except SourceError as exc:
            log.info("%s: %s", client.url_for(path), exc)
            errors.append(exc)
    raise next((e for e in errors if not isinstance(e, PageNotFound)), errors[0])
