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

import numpy as np
import pandas as pd
from lxml import etree
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection

from nba_elt import teams
from nba_elt.errors import ConsistencyError, DataNotAvailable, PageNotFound, SchemaDrift
from nba_elt.extract.html import (
    GAME_ID,
    TEAM_LINK,
    date_of_game,
    require_table,
)
from nba_elt.extract.http import HttpClient
from nba_elt.sources.base import (
    ParsedPage,
    SourceContext,
    Unit,
    check_game_id,
    final_since,
    is_final_day,
    record_written,
    scheduled_games,
)
from nba_elt.sources.crosscheck import FinalGame, final_games, score_disagreements
from nba_elt.warehouse.load import copy_buffer, replace_game_events

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


def _scorebox(doc):
    """The first div whose class names the scorebox (it sits near the top of the page: the
    walk stops there, where an XPath would scan the whole document), or None."""
    for div in doc.iter("div"):
        if "scorebox" in (div.get("class") or ""):
            return div
    return None


def teams_of_page(doc, game_id: str, page: str) -> tuple[str, str]:
    """(away, home) NBA codes: the scorebox lists the away team first, then the home team."""
    home = teams.nba_code(game_id[-3:], page=page)
    codes: list[str] = []
    box = _scorebox(doc)
    for link in box.iter("a") if box is not None else ():
        match = TEAM_LINK.search(link.get("href") or "")
        if match:
            code = teams.nba_code(match.group(1), page=page)
            if code not in codes:
                codes.append(code)
    if len(codes) >= 2 and home in codes[:2]:
        away = codes[0] if codes[1] == home else codes[1]
        return away, home
    raise SchemaDrift(f"{page}: the scorebox with both teams' links is missing")


_CLOCK = re.compile(r"^(\d+):(\d{1,2}(?:\.\d+)?)$")
_SCORE = re.compile(r"^(\d+)-(\d+)$")
_POINTS = re.compile(r"^\+(\d)$")
_START_OF = re.compile(r"start of " + _ORDINAL + r" (quarter|overtime)")
_PERIOD_ROW_ID = re.compile(r"q\d+")


def _parse_plain(html: str, page: str):
    """The page as plain lxml.etree elements (what lxml.html builds, minus its Python class
    lookup on every element the walk touches: about a third of the parse-and-walk time)."""
    if not html or not html.strip():
        raise SchemaDrift(f"{page}: the page is empty")
    try:
        return etree.fromstring(html, etree.HTMLParser())
    except (etree.ParserError, ValueError) as exc:
        raise SchemaDrift(f"{page}: the page is not HTML ({exc})") from None


def _cell_text(cell) -> str:
    """A cell's text with whitespace runs (and &nbsp;) collapsed, like extract.html.text.

    Most cells have no child element: their .text is all there is, no tree walk needed.
    """
    raw = "".join(cell.itertext()) if len(cell) else cell.text or ""
    return " ".join(raw.split())


def _row_drift(page: str, number: int, row, why: str) -> SchemaDrift:
    shown = " | ".join(_cell_text(c) for c in row)[:120]
    return SchemaDrift(f"{page}: table#pbp row {number} ({shown!r}) {why}; the layout has changed")


def parse_pbp(html: str, game_id: str, *, page: str | None = None) -> pd.DataFrame:
    """One row per event of the game, in order (key: game_id, event_idx from 0).

    Every event counts, jump balls and start / end of period included. period: 1-4, then
    5, 6 ... for overtimes; clock_secs: seconds left in the period; team: the acting
    team's NBA code (NULL for neutral events); away_score / home_score: the running score
    after the event; points: what the event scored (0 for most). The date comes from the
    game id, the teams from the page.

    The table's rows are walked once (no XPath per row). A row of cells is either a clock
    and one wide cell or a clock and five cells; any other row (a seventh cell, no clock)
    raises SchemaDrift naming the page and the row: it is never guessed at.
    """
    page = page or pbp_path(game_id)
    return _events_of(_parse_plain(html, page), game_id, page)


def _events_of(doc, game_id: str, page: str) -> pd.DataFrame:
    """parse_pbp on a page already parsed by `_parse_plain`."""
    if not GAME_ID.match(game_id):
        raise SchemaDrift(f"{page}: {game_id!r} is not a game id")
    game_date = date_of_game(game_id)
    away, home = teams_of_page(doc, game_id, page)
    table = require_table(doc, "pbp", page)
    stats = {s.strip().lower() for s in table.xpath(".//th/@data-stat")}
    if not {"time", "score"} <= stats:
        raise SchemaDrift(f"{page}: table#pbp lacks its Time / Score header columns")
    period, away_score, home_score = 1, 0, 0
    periods: list[int] = []
    clocks: list[float] = []
    acting: list[str | None] = []
    descriptions: list[str] = []
    away_scores: list[int] = []
    home_scores: list[int] = []
    scored_points: list[int] = []
    points_by_team = {away: 0, home: 0}
    for number, row in enumerate(table.iter("tr"), start=1):
        tds = [c for c in row if c.tag == "td"]
        if not tds:
            label = _period_of_label(_cell_text(row))
            row_id = row.get("id") or ""
            if _PERIOD_ROW_ID.fullmatch(row_id):
                period = int(row_id[1:])
            elif label is not None:
                period = label
            continue
        clock_match = _CLOCK.match(_cell_text(tds[0]))
        if clock_match is None:
            raise _row_drift(page, number, row, "has cells but no clock in its first")
        clock = int(clock_match.group(1)) * 60 + float(clock_match.group(2))
        team, points = None, 0
        if len(tds) == 2:
            description = _cell_text(tds[1])
            start = _START_OF.match(description.lower())
            if start:
                ordinal = int(start.group(1))
                period = ordinal + 4 if start.group(2) == "overtime" else ordinal
        elif len(tds) == 6:
            score = _SCORE.match(_cell_text(tds[3]))
            if score:  # else the score did not change: carry the previous one
                away_score, home_score = int(score.group(1)), int(score.group(2))
            description = _cell_text(tds[1])
            if description:
                team, scored = away, _cell_text(tds[2])
            else:
                description = _cell_text(tds[5])
                if not description:
                    continue  # a score cell and no action: nothing happened
                team, scored = home, _cell_text(tds[4])
            match = _POINTS.match(scored)
            points = int(match.group(1)) if match else 0
            points_by_team[team] += points
        else:
            raise _row_drift(page, number, row, f"has {len(tds)} cells (expected 2 or 6)")
        periods.append(period)
        clocks.append(clock)
        acting.append(team)
        descriptions.append(description)
        away_scores.append(away_score)
        home_scores.append(home_score)
        scored_points.append(points)
    if not descriptions:
        raise SchemaDrift(f"{page}: table#pbp has no events")
    _check_points(points_by_team, away, home, away_score, home_score, page)
    count = len(descriptions)
    return pd.DataFrame(
        {
            "game_id": [game_id] * count,
            "event_idx": np.arange(count, dtype="int64"),
            "game_date": [game_date] * count,
            "period": np.array(periods, dtype="int64"),
            "clock_secs": np.array(clocks, dtype="float64"),
            "team": pd.Series(acting, dtype=object),
            "description": descriptions,
            "away_score": np.array(away_scores, dtype="int64"),
            "home_score": np.array(home_scores, dtype="int64"),
            "points": np.array(scored_points, dtype="int64"),
        },
        columns=COLUMNS,
    )


def _check_points(
    points_by_team: dict[str, int], away: str, home: str, away_last: int, home_last: int, page: str
) -> None:
    """The points of the events should add up to the last score; warn when they do not."""
    for code, last in ((away, away_last), (home, home_last)):
        if points_by_team[code] != last:
            log.warning(
                "%s: %s's events add up to %d points but the last score shows %d",
                page,
                code,
                points_by_team[code],
                last,
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
    return _facts_of(_parse_plain(html, page), html, game_id, page)


def _facts_of(doc, html: str, game_id: str, page: str) -> PbpPageFacts:
    """page_facts on a page already parsed by `_parse_plain`."""
    away, home = teams_of_page(doc, game_id, page)
    box = _scorebox(doc)
    scores = [
        _cell_text(div)
        for div in (box.iter("div") if box is not None else ())
        if "score" in (div.get("class") or "").split()
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
    game = FinalGame(str(frame["game_id"].iloc[0]), facts.away, facts.home, facts.final)
    if score_disagreements([game], {game.game_id: final_score(frame)}):
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


def scheduled_final(conn: Connection, unit: Unit) -> list[FinalGame]:
    """The unit's game as a final game of nba_source.schedule, or []."""
    finals = final_games(scheduled_games(conn, unit.game_date))
    return [g for g in finals if g.game_id == unit.unit_key]


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
            final = scheduled_final(conn, unit)
        return not score_disagreements(final, {unit.unit_key: tuple(last)})

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        game_id = check_game_id(unit.unit_key)
        ahead = ctx.parsed_ahead(unit) if ctx.parsed_ahead is not None else None
        frame = ahead.frame if ahead is not None else fetch_and_parse(unit, ctx.client)
        rows_csv = ahead.rows_csv if ahead is not None else None
        with ctx.engine.begin() as conn:
            found = score_disagreements(scheduled_final(conn, unit), {game_id: final_score(frame)})
            if found:
                last, final = found[0].found, found[0].game.score
                raise ConsistencyError(
                    f"pbp {game_id}: the last score is {last[0]}-{last[1]} (away-home) but "
                    f"the schedule's final score is {final[0]}-{final[1]}"
                )
            written = replace_game_events(conn, game_id, frame, rows_csv)
            return record_written(ctx, conn, written)


def parse_for_copy(unit: Unit, client: HttpClient) -> ParsedPage:
    frame = fetch_and_parse(unit, client)
    return ParsedPage(frame, copy_buffer(frame).getvalue())


def fetch_and_parse(unit: Unit, client: HttpClient) -> pd.DataFrame:
    """The unit's page, fetched (or read from the archive), parsed and proven (check_unit),
    with its provider column; no database needed, so a worker process can run it
    (nba_elt.ingest.parallel)."""
    game_id = check_game_id(unit.unit_key)
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
    doc = _parse_plain(html, page)  # one parse for the events and the page's facts
    frame = _events_of(doc, game_id, page)
    facts = _facts_of(doc, html, game_id, page)
    if (
        recent
        and facts.whole
        and not _END_OF_GAME.match(str(frame["description"].iloc[-1]).strip())
    ):
        raise DataNotAvailable(f"pbp {game_id}: the game is still being played; retry later")
    check_unit(frame, facts)
    return frame.assign(provider=PbpSource.provider)


SOURCE = PbpSource()
