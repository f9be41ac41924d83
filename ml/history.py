"""Real past results (stats.nba.com league game logs) -> nba_source.schedule rows.

The files in ml/data/ (see ml/data/PROVENANCE.md) hold one row per team per game. This
module pairs the two rows of each game into one schedule row, so that the product's own
dbt models build the ML features from them:

    python -m ml.history                     # load the shipped seasons (2022-23, 2023-24)
    python -m ml.history path/to/season.csv  # load any file of the same format
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from nba_elt.dates import season_of
from nba_elt.errors import BadInput, NbaEltError
from nba_elt.teams import bbref_code, nba_code

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
SHIPPED_FILES = tuple(sorted(DATA_DIR.glob("nba_team_games_*.csv")))
REQUIRED_COLUMNS = ("game_id", "game_date", "team_abbreviation", "matchup", "pts")
SCHEDULE_COLUMNS = [
    "game_id",
    "game_date",
    "season",
    "away_team",
    "home_team",
    "away_pts",
    "home_pts",
    "overtimes",
    "status",
    "game_type",
]


def _split_matchup(matchup: str) -> tuple[str, str, str]:
    """'BOS vs. NYK' -> ('BOS', 'vs', 'NYK'); 'BOS @ NYK' -> ('BOS', '@', 'NYK')."""
    text_ = str(matchup).strip()
    for sep, kind in ((" vs. ", "vs"), (" @ ", "@")):
        if sep in text_:
            left, right = text_.split(sep, 1)
            return left.strip(), kind, right.strip()
    raise BadInput(f"matchup {matchup!r} is neither 'A vs. B' nor 'A @ B'")


def _overtimes(minutes: object) -> int:
    """Team minutes 240 = regulation; each overtime adds 25 (5 players x 5 minutes)."""
    try:
        extra = int(float(minutes)) - 240  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return max(0, round(extra / 25))


def season_of_game_id(nba_game_id: str, game_date: pd.Timestamp) -> int:
    """Season (year it ends) of a stats.nba.com game id '0022300001' -> 2024."""
    digits = str(nba_game_id).zfill(10)
    if digits[3:5].isdigit():
        return 2000 + int(digits[3:5]) + 1
    return season_of(game_date)


GAME_TYPES = {"002": "regular", "004": "playoffs", "005": "playin"}


def game_type_of(nba_game_id: str) -> str:
    """stats.nba.com id prefix: 002 regular season, 004 playoffs, 005 play-in (else regular)."""
    return GAME_TYPES.get(str(nba_game_id).zfill(10)[:3], "regular")


def parse_team_games(frame: pd.DataFrame, *, source: str = "file") -> pd.DataFrame:
    """One row per team per game (league game log) -> one row per game (schedule grain).

    Home/away comes from the matchup text: 'HOME vs. AWAY' or 'AWAY @ HOME'. Neutral-site
    games list both teams with '@'; then the first row of the game in the file decides.
    A game whose two rows are not both present is refused (BadInput).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise BadInput(f"{source}: missing columns {missing}; expected a league game log")
    rows: list[dict[str, object]] = []
    frame = frame.copy()
    frame["game_id"] = frame["game_id"].astype(str).str.zfill(10)
    for nba_game_id, game in frame.groupby("game_id", sort=False):
        if len(game) != 2:
            raise BadInput(f"{source}: game {nba_game_id} has {len(game)} team rows, expected 2")
        pts = {
            nba_code(t, page=source): p
            for t, p in zip(game["team_abbreviation"], game["pts"], strict=True)
        }
        parsed = [_split_matchup(m) for m in game["matchup"]]
        with_vs = [p for p in parsed if p[1] == "vs"]
        team, kind, other = with_vs[0] if with_vs else parsed[0]
        home, away = (team, other) if kind == "vs" else (other, team)
        home, away = nba_code(home, page=source), nba_code(away, page=source)
        if {home, away} != set(pts):
            raise BadInput(f"{source}: game {nba_game_id} matchup does not name its two teams")
        game_date = pd.Timestamp(game["game_date"].iloc[0])
        home_pts, away_pts = pts[home], pts[away]
        if pd.isna(home_pts) or pd.isna(away_pts):
            raise BadInput(f"{source}: game {nba_game_id} has no final score")
        rows.append(
            {
                "game_id": f"{game_date:%Y%m%d}0{bbref_code(home)}",
                "game_date": game_date.date(),
                "season": season_of_game_id(nba_game_id, game_date),
                "away_team": away,
                "home_team": home,
                "away_pts": int(away_pts),
                "home_pts": int(home_pts),
                "overtimes": _overtimes(game["min"].iloc[0]) if "min" in game else 0,
                "status": "final",
                "game_type": game_type_of(nba_game_id),
            }
        )
    result = pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)
    dupes = result["game_id"][result["game_id"].duplicated()]
    if not dupes.empty:
        raise BadInput(f"{source}: two games map to the same game_id {dupes.iloc[0]}")
    return result.sort_values(["game_date", "game_id"]).reset_index(drop=True)


def read_team_games(path: str | Path) -> pd.DataFrame:
    """Read one league game log CSV and return schedule rows (see parse_team_games)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype={"game_id": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not a readable CSV ({exc})") from None
    return parse_team_games(frame, source=path.name)


def load_schedule(engine: Engine, frame: pd.DataFrame) -> int:
    """Upsert schedule rows into nba_source.schedule in one transaction; rows written."""
    from nba_elt.warehouse.load import upsert

    with engine.begin() as conn:
        return int(upsert(conn, "nba_source.schedule", frame))


def load_files(engine: Engine, paths: Iterable[str | Path]) -> dict[str, int]:
    """Parse every file first (nothing written if one is bad), then load each."""
    frames = {str(p): read_team_games(p) for p in paths}
    return {name: load_schedule(engine, frame) for name, frame in frames.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.history", description=__doc__)
    parser.add_argument("csv", nargs="*", help="league game log CSVs (default: the shipped ones)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from nba_elt.warehouse.db import get_engine

    try:
        loaded = load_files(get_engine(), args.csv or SHIPPED_FILES)
    except NbaEltError as exc:
        log.error("error: %s: %s", type(exc).__name__, exc)
        return exc.exit_code
    for name, count in loaded.items():
        log.info("%s: %d games upserted into nba_source.schedule", Path(name).name, count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
