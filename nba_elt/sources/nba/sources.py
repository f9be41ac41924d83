"""The NBA provider's sources: schedule (by date), boxscores and pbp (by game).

Same tables, same contracts and the same self-checks as basketball-reference's sources:
a game's players add up to its team points, which equal the last event's score and the
schedule's final score. A page that fails them never enters the archive: it stays pending
in its client and goes to the quarantine (``sources.run_unit``, ``settle_clients``).
Box scores are one unit per game here (the NBA serves one file per game), keyed by the
warehouse game id like pbp.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

import pandas as pd

from nba_elt.dates import season_of
from nba_elt.errors import (
    ConsistencyError,
    DataNotAvailable,
    PageNotFound,
    SiteBlocked,
    SourceError,
)
from nba_elt.extract.html import date_of_game
from nba_elt.sources.base import (
    SourceContext,
    Unit,
    final_since,
    is_final_day,
    record_written,
)
from nba_elt.sources.boxscores import boxscores_agree
from nba_elt.sources.crosscheck import FinalGame, score_disagreements, team_points
from nba_elt.sources.nba import games, hosts, parse
from nba_elt.sources.pbp import PbpSource, final_score
from nba_elt.sources.schedule import ScheduleSource
from nba_elt.warehouse.crosswalk import write_boxscores
from nba_elt.warehouse.load import replace_game_events

log = logging.getLogger(__name__)
PROVIDER = "nba"
LIVE_FINAL = 3  # liveData gameStatus of a finished game


def _final_score(game: dict) -> tuple[int, int] | None:
    if game.get("status") != "final" or pd.isna(game.get("away_pts")):
        return None
    return int(game["away_pts"]), int(game["home_pts"])


def _not_final_yet(unit: Unit, what: str) -> DataNotAvailable:
    return DataNotAvailable(f"{unit.source} {unit.unit_key}: {what}; retry later")


class NbaScheduleSource(ScheduleSource):
    """A date's games and final scores: the league game log, or scoreboardv3 near today."""

    provider = PROVIDER
    log_note = " (NBA)"

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        day = unit.game_date
        client = hosts.stats(ctx)
        if games.uses_scoreboard(day):
            return [client.url_for(hosts.scoreboard_path(day))]
        return [client.url_for(hosts.game_log_path(parse.season_label(season_of(day))))]

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        try:
            frame = games.games_of_day(ctx, unit.game_date)
        except SiteBlocked:
            raise
        except SourceError as exc:
            # --games with an NBA id resolved through the CDN: that game's box score
            # says its date, teams and final score, enough for its own schedule row
            frame = games.cdn_games_on(ctx, unit.game_date)
            if frame.empty:
                raise
            log.warning(
                "schedule %s: the NBA's schedule is unreadable (%s); writing the %d game(s) "
                "known from their CDN box scores",
                unit.unit_key,
                exc,
                len(frame),
            )
        return self.write(unit, ctx, frame)


class _NbaGameSource:
    """What the NBA's per-game sources share: units by game, the game's facts, fetching."""

    name = ""
    provider = PROVIDER

    def units_for_dates(self, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
        return [
            Unit(self.name, game_id, day, self.provider)
            for day in sorted(set(dates))
            for game_id in games.game_ids_on(ctx, day)
        ]

    def units_for_games(self, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
        return [Unit(self.name, g, date_of_game(g), self.provider) for g in game_ids]

    # The game's file on the CDN (liveData), then on stats.nba.com: NBA game id -> path
    cdn_path: Callable[[str], str]
    stats_path: Callable[[str], str]

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        known = games.warehouse_games(ctx, unit.game_date)
        row = known[known["game_id"] == unit.unit_key]
        if row.empty or pd.isna(row.iloc[0]["nba_game_id"]):
            season = parse.season_label(season_of(unit.game_date))
            return [hosts.stats(ctx).url_for(hosts.game_log_path(season))]
        return [hosts.cdn(ctx).url_for(self.cdn_path(str(row.iloc[0]["nba_game_id"])))]

    def _fetch(self, unit: Unit, ctx: SourceContext, nba_game_id: str):
        attempts = [
            (hosts.cdn(ctx), self.cdn_path(nba_game_id)),
            (hosts.stats(ctx), self.stats_path(nba_game_id)),
        ]
        try:
            return hosts.first_available(attempts, final=final_since(unit.game_date))
        except PageNotFound as exc:
            if not is_final_day(unit.game_date):
                raise _not_final_yet(unit, "the NBA has not published the game yet") from exc
            raise


class NbaBoxscoresSource(_NbaGameSource):
    """Every player's box score of one game: liveData, else boxscoretraditionalv3."""

    name = "boxscores"
    cdn_path = staticmethod(hosts.cdn_boxscore_path)
    stats_path = staticmethod(hosts.stats_boxscore_path)

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        if not is_final_day(unit.game_date):
            return False
        with ctx.engine.connect() as conn:
            return boxscores_agree(conn, unit.game_date, unit.unit_key)

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        game = games.game_of(ctx, unit.unit_key)
        nba_id = str(game["nba_game_id"])
        client, path, payload = self._fetch(unit, ctx, nba_id)
        page = client.url_for(path)
        if "liveData" in path:
            frame, totals, info = parse.parse_live_boxscore(payload, page=page)
            if info["game_id"] != unit.unit_key:
                raise ConsistencyError(
                    f"boxscores {unit.unit_key}: {page} is game {info['game_id']}"
                )
            if info["status"] != LIVE_FINAL:
                raise _not_final_yet(unit, f"{nba_id} is not final yet")
        else:
            frame, totals = parse.parse_boxscore_v3(
                payload, unit.unit_key, unit.game_date, page=page
            )
        self._check(unit, frame, totals, game)
        with ctx.engine.begin() as conn:
            return record_written(ctx, conn, write_boxscores(conn, frame, self.provider))

    @staticmethod
    def _check(unit: Unit, frame: pd.DataFrame, totals: dict[str, int], game: dict) -> None:
        final = _final_score(game)
        away, home = str(game["away_team"]), str(game["home_team"])
        reported = {unit.unit_key: (totals.get(away), totals.get(home))}
        if final is None:
            if game.get("status") != "final":
                raise _not_final_yet(unit, "the schedule does not say the game is final")
            final = reported[unit.unit_key]  # no score in the schedule: the NBA's totals
        checked = [FinalGame(unit.unit_key, away, home, final)]  # type: ignore[arg-type]
        if score_disagreements(checked, reported):
            raise ConsistencyError(
                f"boxscores {unit.unit_key}: the NBA's team points {totals} differ from "
                f"the schedule's final score {dict(zip((away, home), final, strict=True))}"
            )
        players = team_points(frame, checked).get(unit.unit_key, (None, None))
        found = score_disagreements(checked, {unit.unit_key: players})
        if found:
            team, points, final_points = found[0].first_team()
            raise ConsistencyError(
                f"boxscores {unit.unit_key}: {team}'s players score {points} "
                f"points but the final score is {final_points}"
            )


class NbaPbpSource(_NbaGameSource):
    """Every action of one game: liveData play-by-play, else playbyplayv3."""

    name = "pbp"
    cdn_path = staticmethod(hosts.cdn_pbp_path)
    stats_path = staticmethod(hosts.stats_pbp_path)

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        return PbpSource().is_complete(unit, ctx)

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        game = games.game_of(ctx, unit.unit_key)
        final = _final_score(game)
        if final is None and game.get("status") != "final":
            raise _not_final_yet(unit, "the schedule does not say the game is final")
        client, path, payload = self._fetch(unit, ctx, str(game["nba_game_id"]))
        away, home = str(game["away_team"]), str(game["home_team"])
        frame = parse.parse_actions(
            payload, unit.unit_key, unit.game_date, away, home, page=client.url_for(path)
        )
        last = final_score(frame)
        scored = tuple(int(frame.loc[frame["team"] == t, "points"].sum()) for t in (away, home))
        problem = None
        key = unit.unit_key
        if final is not None and score_disagreements(
            [FinalGame(key, away, home, final)], {key: last}
        ):
            problem = (
                f"the last score is {last[0]}-{last[1]} but the final is {final[0]}-{final[1]}"
            )
        elif score_disagreements([FinalGame(key, away, home, last)], {key: scored}):
            problem = f"the events add up to {scored[0]}-{scored[1]}, the last score is {last}"
        if problem:
            raise ConsistencyError(f"pbp {unit.unit_key} (NBA): {problem} (away-home)")
        with ctx.engine.begin() as conn:
            return record_written(
                ctx,
                conn,
                replace_game_events(conn, unit.unit_key, frame.assign(provider=self.provider)),
            )


SCHEDULE = NbaScheduleSource()
BOXSCORES = NbaBoxscoresSource()
PBP = NbaPbpSource()
SOURCES = (SCHEDULE, BOXSCORES, PBP)
