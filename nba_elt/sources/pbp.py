"""Play-by-play of one game: ``/boxscores/pbp/{game_id}.html`` (table#pbp).

The table has no data-stat on its event cells: a row is either 6 cells (time, away
action, away points, score "away-home", home points, home action) or a time and one
wide cell (jump ball, start / end of a period). The header row is checked for its Time
and Score columns, so a layout change is a SchemaDrift rather than silent garbage.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text as sql

from nba_elt import teams
from nba_elt.errors import ConsistencyError, DataNotAvailable, PageNotFound, SchemaDrift
from nba_elt.extract.html import (
    GAME_ID,
    TEAM_LINK,
    clock_seconds,
    date_of_game,
    parse_document,
    require_table,
    text,
)
from nba_elt.extract.http import HttpClient
from nba_elt.sources.base import (
    SourceContext,
    Unit,
    check_game_id,
    final_since,
    is_final_day,
    record_written,
)
from nba_elt.warehouse.load import replace_game_events

log = logging.getLogger(__name__)

COLUMNS = [
    "game_id", "event_idx", "game_date", "period", "clock_secs", "team", "description",
    "away_score", "home_score", "points",
]  # fmt: skip
_ORDINAL = r"(\d+)(?:st|nd|rd|th)"


def pbp_path(game_id: str) -> str:
    return f"/boxscores/pbp/{game_id}.html"


def fetch_pbp(client: HttpClient, game_id: str, *, final: bool | dt.date = False) -> str:
    return client.get(pbp_path(game_id), final=final)


def _period_of_label(label: str) -> int | None:
    """'1st Q' -> 1, '2nd OT' -> 6, 'Start of 1st overtime' -> 5."""
    label = label.lower()
    match = re.search(_ORDINAL + r"\s*(q|quarter|ot|overtime)\b", label)
    if not match:
        return None
    number = int(match.group(1))
    return number + 4 if match.group(2) in ("ot", "overtime") else number


def teams_of_page(doc, game_id: str, page: str) -> tuple[str, str]:
    """(away, home) NBA codes: the scorebox lists the away team first, then the home team."""
    home = teams.nba_code(game_id[-3:], page=page)
    codes: list[str] = []
    for href in doc.xpath('//div[contains(@class, "scorebox")]//a/@href'):
        match = TEAM_LINK.search(href)
        if match:
            code = teams.nba_code(match.group(1), page=page)
            if code not in codes:
                codes.append(code)
    if len(codes) >= 2 and home in codes[:2]:
        away = codes[0] if codes[1] == home else codes[1]
        return away, home
    raise SchemaDrift(f"{page}: the scorebox with both teams' links is missing")


def parse_pbp(html: str, game_id: str, *, page: str | None = None) -> pd.DataFrame:
    """One row per event of the game, in order (key: game_id, event_idx from 0).

    Every event counts, jump balls and start / end of period included. period: 1-4, then
    5, 6 ... for overtimes; clock_secs: seconds left in the period; team: the acting
    team's NBA code (NULL for neutral events); away_score / home_score: the running score
    after the event; points: what the event scored (0 for most). The date comes from the
    game id, the teams from the page.
    """
    page = page or pbp_path(game_id)
    if not GAME_ID.match(game_id):
        raise SchemaDrift(f"{page}: {game_id!r} is not a game id")
    game_date = date_of_game(game_id)
    doc = parse_document(html, page)
    away, home = teams_of_page(doc, game_id, page)
    table = require_table(doc, "pbp", page)
    stats = {s.strip().lower() for s in table.xpath(".//th/@data-stat")}
    if not {"time", "score"} <= stats:
        raise SchemaDrift(f"{page}: table#pbp lacks its Time / Score header columns")
    period, away_score, home_score = 1, 0, 0
    records = []
    for row in table.xpath(".//tr"):
        tds = row.xpath("./td")
        if not tds:
            label = _period_of_label(text(row))
            row_id = row.get("id") or ""
            if re.fullmatch(r"q\d+", row_id):
                period = int(row_id[1:])
            elif label is not None:
                period = label
            continue
        clock = clock_seconds(text(tds[0]))
        if clock is None:
            continue
        team, points, description = None, 0, ""
        if len(tds) == 2:
            description = text(tds[1])
            start = re.match(r"start of " + _ORDINAL + r" (quarter|overtime)", description.lower())
            if start:
                number = int(start.group(1))
                period = number + 4 if start.group(2) == "overtime" else number
        elif len(tds) == 6:
            away_action, home_action = text(tds[1]), text(tds[5])
            score = re.match(r"^(\d+)-(\d+)$", text(tds[3]))
            if score:  # else the score did not change: carry the previous one
                away_score, home_score = int(score.group(1)), int(score.group(2))
            if away_action:
                team, description, scored = away, away_action, text(tds[2])
            elif home_action:
                team, description, scored = home, home_action, text(tds[4])
            else:
                continue
            match = re.match(r"^\+(\d)$", scored)
            points = int(match.group(1)) if match else 0
        else:  # an unknown shape: keep it as a neutral event rather than lose it
            description = " ".join(text(td) for td in tds[1:]).strip()
            if not description:
                continue
        records.append(
            {
                "game_id": game_id,
                "event_idx": len(records),
                "game_date": game_date,
                "period": period,
                "clock_secs": clock,
                "team": team,
                "description": description,
                "away_score": away_score,
                "home_score": home_score,
                "points": points,
            }
        )
    if not records:
        raise SchemaDrift(f"{page}: table#pbp has no events")
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    for column in ("event_idx", "period", "away_score", "home_score", "points"):
        frame[column] = frame[column].astype("int64")
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    _check_points(frame, away, home, page)
    return frame


def _check_points(frame: pd.DataFrame, away: str, home: str, page: str) -> None:
    """The points of the events should add up to the last score; warn when they do not."""
    last = frame.iloc[-1]
    for code, column in ((away, "away_score"), (home, "home_score")):
        scored = int(frame.loc[frame["team"] == code, "points"].sum())
        if scored != int(last[column]):
            log.warning(
                "%s: %s's events add up to %d points but the last score shows %d",
                page,
                code,
                scored,
                int(last[column]),
            )


_END_OF_GAME = re.compile(r"^end of (4th quarter|\d+(st|nd|rd|th) overtime)$", re.IGNORECASE)


@dataclass(frozen=True)
class PbpPageFacts:
    """What the page says about itself, apart from its event rows."""

    page: str
    away: str
    home: str
    final: tuple[int, int] | None  # (away, home) from the scorebox, None when not printed
    whole: bool  # the page ends with </html>


def page_facts(html: str, game_id: str, *, page: str | None = None) -> PbpPageFacts:
    """The scorebox's teams and final score (``div.scorebox div.score``, away first)."""
    page = page or pbp_path(game_id)
    doc = parse_document(html, page)
    away, home = teams_of_page(doc, game_id, page)
    scores = [
        text(node)
        for node in doc.xpath(
            '//div[contains(@class, "scorebox")]//div[contains(concat(" ", @class, " "), " score ")]'
        )
    ]
    final = None
    if len(scores) >= 2 and all(re.fullmatch(r"\d+", s) for s in scores[:2]):
        final = (int(scores[0]), int(scores[1]))
    return PbpPageFacts(page, away, home, final, html.rstrip().lower().endswith("</html>"))


def check_unit(frame: pd.DataFrame, facts: PbpPageFacts) -> None:
    """The page proves its own events, whatever else is loaded: it is whole, its events
    belong to its two teams, it ends with the end of the game (regulation or overtime)
    and the last score equals the scorebox's final. ConsistencyError otherwise."""
    page = facts.page
    if not facts.whole:
        raise ConsistencyError(f"{page}: the page is truncated (no </html>); not loaded")
    if frame.empty:
        raise ConsistencyError(f"{page}: no events")
    strangers = sorted(set(frame["team"].dropna()) - {facts.away, facts.home})
    if strangers:
        raise ConsistencyError(
            f"{page}: events credited to {', '.join(strangers)}, who did not play "
            f"{facts.away} @ {facts.home}; the rows are misread"
        )
    last = str(frame["description"].iloc[-1]).strip()
    if not _END_OF_GAME.match(last):
        raise ConsistencyError(
            f"{page}: the events end with {last!r}, not with the end of the game "
            "(4th quarter or an overtime); the page is cut short"
        )
    if facts.final is None:
        raise ConsistencyError(f"{page}: the scorebox has no final score to check against")
    if final_score(frame) != facts.final:
        got, want = final_score(frame), facts.final
        raise ConsistencyError(
            f"{page}: the last score is {got[0]}-{got[1]} (away-home) but the scorebox's "
            f"final is {want[0]}-{want[1]}"
        )


def final_score(frame: pd.DataFrame) -> tuple[int, int]:
    last = frame.iloc[-1]
    return int(last["away_score"]), int(last["home_score"])


def game_date_of(game_id: str) -> dt.date:
    return date_of_game(game_id)


_LAST_PBP_EVENT = sql(
    "select away_score, home_score from nba_source.pbp where game_id = :g "
    "order by event_idx desc limit 1"
)
_FINAL_SCORE = sql(
    "select away_pts, home_pts from nba_source.schedule where game_id = :g and status = 'final'"
)


class PbpSource:
    """Every event of one game, from its play-by-play page."""

    name = "pbp"
    provider = "bbref"

    def units_for_dates(self, dates: Iterable[dt.date], ctx: SourceContext) -> list[Unit]:
        from nba_elt.sources.games import games_on

        return [Unit(self.name, g, day) for day in sorted(set(dates)) for g in games_on(day, ctx)]

    def units_for_games(self, game_ids: Iterable[str], ctx: SourceContext) -> list[Unit]:
        return [Unit(self.name, g, date_of_game(g)) for g in game_ids]

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        return [ctx.client.url_for(pbp_path(unit.unit_key))]

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        if not is_final_day(unit.game_date):
            return False
        with ctx.engine.connect() as conn:
            last = conn.execute(_LAST_PBP_EVENT, {"g": unit.unit_key}).first()
            if last is None:
                return False
            final = conn.execute(_FINAL_SCORE, {"g": unit.unit_key}).first()
        return final is None or (last.away_score, last.home_score) == (final[0], final[1])

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        game_id = check_game_id(unit.unit_key)
        client = ctx.client
        page = client.url_for(pbp_path(game_id))
        recent = not is_final_day(unit.game_date)
        try:
            html = fetch_pbp(client, game_id, final=final_since(unit.game_date))
        except PageNotFound as exc:
            if recent:
                raise DataNotAvailable(
                    f"pbp {game_id}: {page} is not published yet; retry later"
                ) from exc
            raise
        frame = parse_pbp(html, game_id, page=page)
        facts = page_facts(html, game_id, page=page)
        if (
            recent
            and facts.whole
            and not _END_OF_GAME.match(str(frame["description"].iloc[-1]).strip())
        ):
            raise DataNotAvailable(f"pbp {game_id}: the game is still being played; retry later")
        check_unit(frame, facts)
        with ctx.engine.begin() as conn:
            row = conn.execute(_FINAL_SCORE, {"g": game_id}).first()
            if row is not None:
                last = final_score(frame)
                if last != (row[0], row[1]):
                    raise ConsistencyError(
                        f"pbp {game_id}: the last score is {last[0]}-{last[1]} (away-home) but "
                        f"the schedule's final score is {row[0]}-{row[1]}"
                    )
            return record_written(
                ctx, conn, replace_game_events(conn, game_id, frame.assign(provider=self.provider))
            )


SOURCE = PbpSource()
