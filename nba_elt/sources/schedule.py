"""The season schedule and final scores, from the month pages of a season.

Page: ``/leagues/NBA_{season}_games-{month}.html`` (table#schedule). Most months are named
plainly (``-january``); seasons that span the same month twice (2019-20: October 2019 and
October 2020) name them ``-october-2019`` / ``-october-2020``. The month page for a date is
derived from the date, and the season's month links (on every month page and on the season
page ``/leagues/NBA_{season}_games.html``) are followed when the derived one is wrong.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re

import pandas as pd

from nba_elt import teams
from nba_elt.dates import season_of
from nba_elt.errors import ConsistencyError, PageNotFound, SchemaDrift, SourceError
from nba_elt.extract.html import (
    GAME_ID,
    GAME_LINK,
    TEAM_LINK,
    body_rows,
    cells,
    parse_document,
    require_columns,
    require_table,
    require_whole_page,
    text,
    to_int,
)
from nba_elt.extract.http import HttpClient
from nba_elt.sources.base import (
    DateKeyedSource,
    SourceContext,
    Unit,
    is_final_day,
    month_final_since,
    record_written,
    scheduled_games,
)
from nba_elt.warehouse.load import upsert

log = logging.getLogger(__name__)

COLUMNS = [
    "game_id", "game_date", "season", "start_time", "away_team", "home_team", "away_pts",
    "home_pts", "overtimes", "status", "attendance", "arena", "game_type",
]  # fmt: skip
REQUIRED = ["date_game", "visitor_team_name", "home_team_name", "visitor_pts", "home_pts"]
MONTH_LINK = re.compile(r"/leagues/NBA_(\d{4})_games-([a-z]+)(?:-(\d{4}))?\.html")


def month_name(day: dt.date) -> str:
    return calendar.month_name[day.month].lower()


def month_path(season: int, month: str, year: int | None = None) -> str:
    suffix = f"-{year}" if year else ""
    return f"/leagues/NBA_{season}_games-{month}{suffix}.html"


def season_path(season: int) -> str:
    return f"/leagues/NBA_{season}_games.html"


def month_links(html: str) -> list[str]:
    """The season's month page paths linked from a schedule page (in page order)."""
    return list(dict.fromkeys(match.group(0) for match in MONTH_LINK.finditer(html)))


def page_season(html: str) -> int | None:
    """The season a month page belongs to, from its canonical link (NBA_2018_games.html)."""
    match = re.search(r'<link[^>]*rel="canonical"[^>]*NBA_(\d{4})_games', html)
    return int(match.group(1)) if match else None


def _date_of_row(cell, page: str) -> dt.date:
    raw = text(cell)
    for fmt in ("%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    for link in cell.xpath(".//a/@href"):
        match = re.search(r"month=(\d+)&(?:amp;)?day=(\d+)&(?:amp;)?year=(\d+)", link)
        if match:
            month, day, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
    raise SchemaDrift(f"{page}: {raw!r} in data-stat date_game is not a date")


def _start_time(raw: str) -> str | None:
    """'7:30p' -> '19:30' (US Eastern, as the site prints it); unknown formats kept as-is."""
    raw = raw.strip()
    if not raw:
        return None
    match = re.match(r"^(\d{1,2}):(\d{2})\s*([ap])", raw.lower())
    if not match:
        return raw
    hour, minute, half = int(match.group(1)), match.group(2), match.group(3)
    hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour:02d}:{minute}"


def _team(cell, page: str) -> str:
    name = text(cell)
    try:
        return teams.code_from_name(name, page=page)
    except SchemaDrift:
        for source in [cell.get("csk") or "", *cell.xpath(".//a/@href")]:
            match = TEAM_LINK.search(source) or re.match(r"^([A-Z]{3})\.", source)
            if match:
                return teams.nba_code(match.group(1), page=page)
        raise


def _season_for(page_season_: int | None, game_date: dt.date) -> int:
    """The page's season when plausible for the date (a late 2019-20 game in October 2020
    is season 2020), else the calendar's."""
    derived = season_of(game_date)
    if page_season_ is not None and page_season_ in (derived - 1, derived):
        return page_season_
    return derived


def _overtimes(raw: str) -> int:
    """'OT' -> 1, '2OT' -> 2; anything else (blank) -> 0."""
    match = re.match(r"^(\d*)\s*OT$", raw.strip().upper())
    return int(match.group(1) or 1) if match else 0


def _game_type(separator: str, current: str) -> str:
    label = separator.lower()
    if "play-in" in label or "play in" in label:
        return "playin"
    if "playoff" in label:
        return "playoffs"
    return current


def parse_schedule(
    html: str, *, season: int | None = None, page: str = "schedule page"
) -> pd.DataFrame:
    """One row per game of a month page (key: game_id), with final scores when played.

    status: final (both scores), postponed (remarks say postponed/cancelled), else
    scheduled. game_type: regular, playin or playoffs, from the separator rows the site
    puts before the play-in and the playoffs (and the row's remarks). season: the year
    the season ends, read from the page (or given).
    """
    doc = parse_document(html, page)
    table = require_table(doc, "schedule", page)
    require_columns(table, REQUIRED, "schedule", page)
    season = season or page_season(html)
    game_type = "regular"
    records = []
    for row in body_rows(table):
        classes = (row.get("class") or "").split()
        if "thead" in classes or not row.xpath("./td"):
            game_type = _game_type(text(row), game_type)
            continue
        c = cells(row)
        if "date_game" not in c or not text(c["date_game"]):
            continue
        game_date = _date_of_row(c["date_game"], page)
        away = _team(c["visitor_team_name"], page)
        home = _team(c["home_team_name"], page)
        game_id = None
        for source in [c["date_game"].get("csk") or "", *row.xpath(".//a/@href")]:
            match = GAME_ID.match(source) or GAME_LINK.search(source)
            if match:
                game_id = match.group(0) if GAME_ID.match(source) else match.group(1)
                break
        if game_id is None:
            game_id = f"{game_date:%Y%m%d}0{teams.bbref_code(home)}"
        away_pts = to_int(text(c["visitor_pts"]), what="visitor_pts", page=page)
        home_pts = to_int(text(c["home_pts"]), what="home_pts", page=page)
        remarks = text(c.get("game_remarks")).lower()
        row_type = _game_type(remarks, game_type)
        if away_pts is not None and home_pts is not None:
            status = "final"
        elif "postpone" in remarks or "cancel" in remarks:
            status = "postponed"
        else:
            status = "scheduled"
        records.append(
            {
                "game_id": game_id,
                "game_date": game_date,
                "season": _season_for(season, game_date),
                "start_time": _start_time(text(c.get("game_start_time"))),
                "away_team": away,
                "home_team": home,
                "away_pts": away_pts if status == "final" else None,
                "home_pts": home_pts if status == "final" else None,
                "overtimes": _overtimes(text(c.get("overtimes"))),
                "status": status,
                "attendance": to_int(text(c.get("attendance")), what="attendance", page=page),
                "arena": text(c.get("arena_name")) or None,
                "game_type": row_type,
            }
        )
    return schedule_frame(records)


def schedule_frame(records: list[dict], columns: list[str] = COLUMNS) -> pd.DataFrame:
    """Schedule rows (dicts of ``columns``) as the frame every provider loads: typed
    columns, one row per game_id, the last kept."""
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("season", "away_pts", "home_pts", "overtimes", "attendance"):
        frame[column] = frame[column].astype("Int64")
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    return frame.drop_duplicates("game_id", keep="last").reset_index(drop=True)


def _candidates_from_links(links: list[str], day: dt.date) -> list[str]:
    """Month pages among ``links`` that can hold ``day`` (same month name; year if given)."""
    found = []
    for link in links:
        match = MONTH_LINK.search(link)
        if not match:
            continue
        _, month, year = match.groups()
        if month == month_name(day) and (year is None or int(year) == day.year):
            found.append(match.group(0))
    return found


def _get_or_none(
    client: HttpClient, path: str, final, missing: dict[str, PageNotFound]
) -> str | None:
    """The page, or None when the site has no such page (404, kept in ``missing``). Any
    other failure (5xx after the retries, the deadline, a block) is raised: the unit
    fails, no fallback."""
    try:
        return client.get(path, final=final)
    except PageNotFound as exc:
        log.info("%s: not on the site", path)
        missing[path] = exc
    return None


def check_unit(html: str, frame: pd.DataFrame, *, page: str = "schedule page") -> None:
    """A month page proves itself: it is whole, its game ids are unique and a final game
    has both scores (a page cut short still parses, so it must end with </html>)."""
    require_whole_page(html, page)
    duplicated = frame["game_id"][frame["game_id"].duplicated()]
    if not duplicated.empty:
        raise ConsistencyError(f"{page}: game {duplicated.iloc[0]} is listed twice")
    finals = frame[frame["status"] == "final"]
    if finals["away_pts"].isna().any() or finals["home_pts"].isna().any():
        raise ConsistencyError(f"{page}: a final game lacks a score")


def fetch_schedule_for_date(
    client: HttpClient, day: dt.date, *, final: bool | dt.date = False
) -> pd.DataFrame:
    """Every game of ``day`` (empty frame when there is none), from the right month page.

    Tries the derived month page; when the site lacks it, the month pages linked from the
    season page, then (July-October) the previous season's, which may run late (2019-20
    ended in October 2020). "No games that day" needs proof: a readable month page of
    that month without the day, or a readable season page that lists no page for the
    month (the off-season). A month page the season lists but that cannot be read, or no
    readable page at all, raises the first error: an empty schedule is never a guess.
    """
    season = season_of(day)
    tried: set[str] = set()
    missing: dict[str, PageNotFound] = {}
    queue = [month_path(season, month_name(day))]
    fallbacks = [season_path(season)]
    if 7 <= day.month <= 10:
        fallbacks += [month_path(season - 1, month_name(day)), season_path(season - 1)]
    read_any = False
    from_links: set[str] = set()
    while queue or fallbacks:
        path = queue.pop(0) if queue else fallbacks.pop(0)
        if path in tried:
            continue
        tried.add(path)
        html = _get_or_none(client, path, final, missing)
        if html is None:
            continue
        page = client.url_for(path)
        read_any = True
        if path.endswith("_games.html"):  # a season page: only its month links matter
            require_whole_page(html, page)
        else:
            frame = parse_schedule(html, page=page)
            check_unit(html, frame, page=page)
            # the right page has the day's month (and, without the day, no game that day)
            if any((d.year, d.month) == (day.year, day.month) for d in frame["game_date"]):
                return frame[frame["game_date"] == day].reset_index(drop=True)
        found = _candidates_from_links(month_links(html), day)
        from_links.update(found)
        queue += found
    listed_unreadable = [p for p in from_links if p in missing]
    if listed_unreadable:
        raise SourceError(
            f"schedule {day}: the season lists {client.url_for(listed_unreadable[0])} but it "
            f"cannot be read ({missing[listed_unreadable[0]]}); not loaded"
        )
    if not read_any:
        first = next(iter(missing.values()), None) or SourceError(
            f"schedule {day}: no page could be read"
        )
        raise SourceError(
            f"schedule {day}: no schedule page of season {season} could be read, so the "
            f"day's games are unknown ({first}); not loaded"
        )
    return pd.DataFrame(columns=COLUMNS)


class ScheduleSource(DateKeyedSource):
    """One date's games and final scores, from the season's month page."""

    name = "schedule"
    provider = "bbref"
    log_note = ""  # after "no games that day" in the log

    def planned_urls(self, unit: Unit, ctx: SourceContext) -> list[str]:
        day = unit.game_date
        return [ctx.client.url_for(month_path(season_of(day), month_name(day)))]

    def is_complete(self, unit: Unit, ctx: SourceContext) -> bool:
        if not is_final_day(unit.game_date):
            return False
        with ctx.engine.connect() as conn:
            games = scheduled_games(conn, unit.game_date)
        return not games.empty and bool(games["status"].isin(["final", "postponed"]).all())

    def run(self, unit: Unit, ctx: SourceContext) -> int:
        frame = fetch_schedule_for_date(
            ctx.client, unit.game_date, final=month_final_since(unit.game_date)
        )
        return self.write(unit, ctx, frame)

    def write(self, unit: Unit, ctx: SourceContext, frame: pd.DataFrame) -> int:
        """The date's games upserted as this provider's; 0 when the day has none."""
        if frame.empty:
            log.info("schedule %s: no games that day%s", unit.unit_key, self.log_note)
            return 0
        with ctx.engine.begin() as conn:
            return record_written(
                ctx, conn, upsert(conn, "schedule", frame.assign(provider=self.provider))
            )


SOURCE = ScheduleSource()
