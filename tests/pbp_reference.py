"""The pbp parser as it was before issue #14 (per-row XPath and text_content), kept verbatim.

Not used by the product: tests/unit/test_pbp_fast_parser.py proves the single-pass parser
in nba_elt.sources.pbp gives frames identical to this one on every recorded page, and
benchmarks/pbp_reingest.py can time both.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from nba_elt.errors import SchemaDrift
from nba_elt.extract.html import (
    GAME_ID,
    clock_seconds,
    date_of_game,
    parse_document,
    require_table,
    text,
)
from nba_elt.sources.pbp import COLUMNS, _period_of_label, pbp_path, teams_of_page

log = logging.getLogger(__name__)

_ORDINAL = r"(\d+)(?:st|nd|rd|th)"


def parse_pbp_reference(html: str, game_id: str, *, page: str | None = None) -> pd.DataFrame:
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
    _check_points_reference(frame, away, home, page)
    return frame


def _check_points_reference(frame: pd.DataFrame, away: str, home: str, page: str) -> None:
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
