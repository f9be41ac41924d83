"""Which games a day has: from nba_source.schedule when loaded, else from the site."""

from __future__ import annotations

import datetime as dt
import logging

from nba_elt.errors import SourceError
from nba_elt.sources import scoreboard
from nba_elt.sources.base import SourceContext, month_final_since, playable, scheduled_games
from nba_elt.sources.schedule import fetch_schedule_for_date

log = logging.getLogger(__name__)


def games_from_site(day: dt.date, ctx: SourceContext) -> list[str]:
    """The day's game ids from the scoreboard page, else from the schedule's month page."""
    client = ctx.client
    path = scoreboard.scoreboard_path(day)
    try:
        board = scoreboard.read_scoreboard(client, day)
        client.settle(True, paths=[path])
        return board["game_id"].tolist()
    except SourceError as exc:
        if exc.terminal:
            raise
        client.settle(False, f"{path}: {exc}", paths=[path])
        # offline (or a dry run), a page the archive lacks is expected: the plan says so
        log.log(
            logging.DEBUG if client.offline else logging.WARNING,
            "%s unusable (%s); listing the games from the schedule page",
            path,
            exc,
        )
    return playable(fetch_schedule_for_date(client, day, final=month_final_since(day)))


def games_on(day: dt.date, ctx: SourceContext) -> list[str]:
    """Game ids of a day: from nba_source.schedule, else from the site (scoreboard page)."""
    with ctx.engine.connect() as conn:
        known = scheduled_games(conn, day)
    if not known.empty:
        return playable(known)
    return games_from_site(day, ctx)
