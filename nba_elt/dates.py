"""Dates as the operator types them, and the NBA's calendar (US Eastern, seasons)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from nba_elt.errors import BadInput

EASTERN = ZoneInfo("America/New_York")

# The league's first season, 1946-47 (the BAA's), named by the year it ends: no source
# (basketball-reference, stats.nba.com) has a game before it.
FIRST_SEASON = 1947
FIRST_DATE = dt.date(FIRST_SEASON - 1, 8, 1)  # the season cut-over (season_of)


def today_eastern() -> dt.date:
    """Today's date in US Eastern time: the NBA's calendar."""
    return dt.datetime.now(EASTERN).date()


def yesterday_eastern() -> dt.date:
    return today_eastern() - dt.timedelta(days=1)


def parse_date(value: str, *, flag: str = "--date", allow_future: bool = False) -> dt.date:
    """Parse YYYY-MM-DD; BadInput for a malformed or (unless allowed) future date."""
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadInput(f"{flag} must be a date as YYYY-MM-DD, got {value!r}") from None
    if day < FIRST_DATE:
        raise BadInput(
            f"{flag} {day} is before the first NBA season ({FIRST_SEASON - 1}-"
            f"{FIRST_SEASON % 100:02d}, from {FIRST_DATE}): no source has games that early"
        )
    if not allow_future and day > today_eastern():
        raise BadInput(
            f"{flag} {day} is in the future (today is {today_eastern()} US Eastern); "
            "there is nothing to ingest yet"
        )
    return day


def resolve_dates(
    date: str | None,
    start: str | None,
    end: str | None,
    *,
    default: dt.date | None = None,
    allow_future: bool = False,
) -> list[dt.date]:
    """The dates a task asked for: --date, or --start/--end, or the default."""
    if date and (start or end):
        raise BadInput("give either --date or --start/--end, not both")
    if date:
        return [parse_date(date, allow_future=allow_future)]
    if start or end:
        if not (start and end):
            raise BadInput("--start and --end go together")
        first = parse_date(start, flag="--start", allow_future=allow_future)
        last = parse_date(end, flag="--end", allow_future=allow_future)
        if last < first:
            raise BadInput(f"--end {last} is before --start {first}")
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if default is None:
        raise BadInput("give --date or --start/--end")
    return [default]


def season_of(day: dt.date) -> int:
    """The season a date belongs to, named by the year it ends (2024-25 -> 2025).

    Seasons start in October (or December/July in odd years); August 1 is the cut-over.
    """
    return day.year + 1 if day.month >= 8 else day.year
