"""`invoke verify --cross-provider --date D`: do basketball-reference and the NBA agree on D?

For each game of D, both providers' final scores and team points (the sum of the players'
points) are read fresh from the providers (the raw archive serves what it holds as final),
not from the warehouse, and every disagreement is listed: a different final score,
different team points, a game only one provider has, a provider that could not be read.
Requests: basketball-reference's month page and daily leaders page for the day; the
NBA's league game log (or scoreboard) for the day, then one box score per game (the
CDN's from 2019-20 on, stats V3 before).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from nba_elt.config import Settings, get_settings
from nba_elt.errors import NbaEltError, SiteBlocked
from nba_elt.results import Result
from nba_elt.sources.base import SourceContext
from nba_elt.sources.crosscheck import (
    FinalGame,
    Score,
    final_games,
    score_disagreements,
    score_text,
    team_points,
)

log = logging.getLogger(__name__)

CDN_FIRST_SEASON = 2020  # the CDN's liveData box scores start with 2019-20


@dataclass
class ProviderView:
    """What one provider says about a day: final scores and team points, by game."""

    name: str
    finals: dict[str, Score] = field(default_factory=dict)
    team_points: dict[str, Score] = field(default_factory=dict)
    teams: dict[str, tuple[str, str]] = field(default_factory=dict)  # game -> (away, home)
    problems: list[str] = field(default_factory=list)

    def add_finals(self, schedule) -> list:
        """The schedule's final games (rows with game_id, teams and points), recorded."""
        finals = final_games(schedule)
        for game in finals:
            self.finals[game.game_id] = game.score
            self.teams[game.game_id] = (game.away, game.home)
        return finals

    def final_game(self, game_id: str) -> FinalGame:
        return FinalGame(game_id, *self.teams.get(game_id, ("", "")), self.finals[game_id])


def compare(day: dt.date, bbref: ProviderView, nba: ProviderView) -> list[str]:
    """Every disagreement between the two views, one sentence each (empty: they agree)."""
    found = [f"{view.name}: {problem}" for view in (bbref, nba) for problem in view.problems]
    games = sorted(set(bbref.finals) | set(nba.finals))
    for game in games:
        if game not in bbref.finals:
            if not bbref.problems:
                found.append(f"{game}: only the NBA has this game")
            continue
        if game not in nba.finals:
            if not nba.problems:
                found.append(f"{game}: only basketball-reference has this game")
            continue
        if bbref.finals[game] != nba.finals[game]:
            found.append(
                f"{game}: final score {score_text(bbref.finals[game])} (basketball-reference) vs "
                f"{score_text(nba.finals[game])} (NBA)"
            )
        ours, theirs = bbref.team_points.get(game), nba.team_points.get(game)
        if ours is not None and theirs is not None and ours != theirs:
            found.append(
                f"{game}: team points {score_text(ours)} (basketball-reference players) vs "
                f"{score_text(theirs)} (NBA players)"
            )
        for view in (bbref, nba):
            for d in score_disagreements([view.final_game(game)], view.team_points):
                found.append(
                    f"{game}: {view.name}'s players add up to {score_text(d.found)} but its "
                    f"final score is {score_text(d.game.score)}"
                )
    return found


def bbref_view(ctx: SourceContext, day: dt.date) -> ProviderView:
    from nba_elt.sources.base import final_since, month_final_since
    from nba_elt.sources.boxscores import fetch_daily, parse_boxscores
    from nba_elt.sources.schedule import fetch_schedule_for_date

    view = ProviderView("basketball-reference")
    try:
        schedule = fetch_schedule_for_date(ctx.client, day, final=month_final_since(day))
    except NbaEltError as exc:
        view.problems.append(f"could not read the schedule ({exc})")
        return view
    finals = view.add_finals(schedule)
    if not finals:
        return view
    try:
        path, html = fetch_daily(ctx.client, day, final=final_since(day))
        players = parse_boxscores(html, day, page=ctx.client.url_for(path))
    except NbaEltError as exc:
        view.problems.append(f"could not read the box scores ({exc})")
        return view
    sums = team_points(players, finals)
    view.team_points.update({g: pts for g, pts in sums.items() if None not in pts})
    return view


def nba_view(ctx: SourceContext, day: dt.date) -> ProviderView:
    from nba_elt.sources.base import final_since
    from nba_elt.sources.nba import games, hosts, parse

    view = ProviderView("NBA")
    try:
        listed = games.games_of_day(ctx, day)
    except NbaEltError as exc:
        view.problems.append(f"could not read the schedule ({exc})")
        return view
    by_id = listed.set_index("game_id")
    for game in view.add_finals(listed):
        # one request per game: the CDN where it has the season, else stats V3
        nba_id, season = by_id.loc[game.game_id, ["nba_game_id", "season"]]
        if int(season) >= CDN_FIRST_SEASON:
            attempts = [(hosts.cdn(ctx), hosts.cdn_boxscore_path(nba_id))]
        else:
            attempts = [(hosts.stats(ctx), hosts.stats_boxscore_path(nba_id))]
        try:
            client, path, payload = hosts.first_available(attempts, final=final_since(day))
        except SiteBlocked as exc:
            view.problems.append(f"blocked at {game.game_id} ({exc})")
            break
        except NbaEltError as exc:
            view.problems.append(f"no box score for {game.game_id} ({exc})")
            continue
        page = client.url_for(path)
        if "liveData" in path:
            frame, _, _ = parse.parse_live_boxscore(payload, page=page)
        else:
            frame, _ = parse.parse_boxscore_v3(payload, game.game_id, day, page=page)
        players = team_points(frame, [game]).get(game.game_id, (None, None))
        view.team_points[game.game_id] = (players[0] or 0, players[1] or 0)
    return view


def cross_provider_report(ctx: SourceContext, day: dt.date) -> dict[str, Any]:
    """Both views of ``day`` and their disagreements (JSON-ready)."""
    bbref, nba = bbref_view(ctx, day), nba_view(ctx, day)
    disagreements = compare(day, bbref, nba)
    games = sorted(set(bbref.finals) | set(nba.finals))
    rows = [
        {
            "game_id": g,
            "bbref_final": _maybe(bbref.finals.get(g)),
            "nba_final": _maybe(nba.finals.get(g)),
            "bbref_team_points": _maybe(bbref.team_points.get(g)),
            "nba_team_points": _maybe(nba.team_points.get(g)),
        }
        for g in games
    ]
    return {"date": day.isoformat(), "games": rows, "disagreements": disagreements}


def _maybe(score: Score | None) -> str | None:
    return score_text(score) if score is not None else None


@dataclass
class CrossProviderReport(Result):
    """`verify --cross-provider`: both views of one day; exit_code 1 on any disagreement."""

    date: dt.date | None = None
    games: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)


def verify_cross_provider(day: dt.date, *, settings: Settings | None = None) -> CrossProviderReport:
    """Compare basketball-reference's and the NBA's final scores and team points for the
    games of ``day`` (checks.verify.VerifyRequest's date) and list every disagreement."""
    from nba_elt.extract.http import HttpClient
    from nba_elt.warehouse.db import get_engine

    settings = settings or get_settings()
    ctx = SourceContext(get_engine(settings), HttpClient(settings))
    report = cross_provider_report(ctx, day)
    count = len(report["disagreements"])
    summary = {"status": "failed" if count else "passed", "cross_provider": report}
    fields_ = {"date": day, "games": report["games"], "disagreements": report["disagreements"]}
    if count:
        message = f"{day}: {count} disagreement(s) between the providers"
        return CrossProviderReport(1, message, summary, **fields_)
    message = f"{day}: both providers agree on {len(report['games'])} game(s)"
    return CrossProviderReport(0, message, summary, **fields_)
