"""The NBA's JSON (stats.nba.com V3, the liveData CDN) -> nba_source rows. Pure functions.

Every frame has the columns of the bbref parsers (sources/schedule.py, boxscores.py,
pbp.py) so both providers land in the same tables under the same contracts: warehouse
game ids (date + "0" + the home team's basketball-reference code), NBA team codes,
``event_idx`` from 0, period 5+ for overtimes. Player ids are ``nba:<personId>`` here;
the loader swaps in the basketball-reference id where the crosswalk knows it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pandas as pd

from nba_elt import teams
from nba_elt.errors import SchemaDrift
from nba_elt.players import nba_player_id, normalised_name  # noqa: F401 - re-exported
from nba_elt.sources.boxscores import boxscore_frame
from nba_elt.sources.pbp import COLUMNS as PBP_COLUMNS
from nba_elt.sources.schedule import COLUMNS as SCHEDULE_COLUMNS
from nba_elt.sources.schedule import schedule_frame

NBA_GAME_ID = re.compile(r"^00(?P<kind>[1-6])(?P<yy>\d{2})(?P<number>\d{5})$")
GAME_TYPES = {"2": "regular", "4": "playoffs", "5": "playin"}
TEAM_MINUTES_REGULATION = 240  # 5 players x 48 minutes; each overtime adds 5 x 5
# our column <- the V3 / liveData statistics key
STATS = {
    "fgm": "fieldGoalsMade", "fga": "fieldGoalsAttempted", "fg3m": "threePointersMade",
    "fg3a": "threePointersAttempted", "ftm": "freeThrowsMade", "fta": "freeThrowsAttempted",
    "oreb": "reboundsOffensive", "dreb": "reboundsDefensive", "reb": "reboundsTotal",
    "ast": "assists", "stl": "steals", "blk": "blocks", "tov": "turnovers",
    "pf": "foulsPersonal", "pts": "points",
}  # fmt: skip
_ISO_CLOCK = re.compile(r"^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def load_json(body: str, page: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise SchemaDrift(f"{page}: the response is not JSON") from None


def is_nba_game_id(value: str) -> bool:
    return bool(NBA_GAME_ID.match(value.strip()))


def game_type_of(nba_game_id: str) -> str:
    match = NBA_GAME_ID.match(nba_game_id)
    return GAME_TYPES.get(match["kind"], "regular") if match else "regular"


def season_of_game(nba_game_id: str) -> int:
    """The year the season ends: 0022200552 -> 2023."""
    match = NBA_GAME_ID.match(nba_game_id)
    if not match:
        raise SchemaDrift(f"{nba_game_id!r} is not an NBA game id")
    return 2000 + int(match["yy"]) + 1


def season_label(season: int) -> str:
    """2023 -> '2022-23' (the Season parameter of stats.nba.com)."""
    return f"{season - 1}-{season % 100:02d}"


def warehouse_game_id(day: dt.date, home: str) -> str:
    """date (US Eastern) + '0' + the home team's basketball-reference code."""
    return f"{day:%Y%m%d}0{teams.bbref_code(home)}"


def parse_game_code(code: str, page: str = "game code") -> tuple[dt.date, str, str]:
    """'20201222/GSWBKN' -> (2020-12-22, away 'GSW', home 'BKN')."""
    match = re.match(r"^(\d{8})/([A-Z]{3})([A-Z]{3})$", (code or "").strip())
    if not match:
        raise SchemaDrift(f"{page}: gameCode {code!r} is not YYYYMMDD/AWYHOM")
    day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    return day, teams.nba_code(match.group(2), page=page), teams.nba_code(match.group(3), page=page)


def clock_seconds(value: str) -> float:
    """'PT11M41.00S' -> 701.0; '4:05' -> 245.0 (seconds left in the period)."""
    value = (value or "").strip()
    match = _ISO_CLOCK.match(value)
    if match and value != "PT":
        return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)
    minutes, sep, seconds = value.partition(":")
    if sep:
        return int(minutes) * 60 + float(seconds)
    raise SchemaDrift(f"clock {value!r} is neither PTmmMss.ssS nor mm:ss")


def played_seconds(value: str | None) -> int | None:
    """'49:48' or 'PT49M48.00S' -> 2988; '' / None -> None (did not play)."""
    if value is None or not str(value).strip():
        return None
    seconds = clock_seconds(str(value))
    return int(round(seconds))


def _result_set(payload: dict, name: str, page: str) -> pd.DataFrame:
    for result in payload.get("resultSets") or []:
        if result.get("name") == name:
            return pd.DataFrame(result.get("rowSet") or [], columns=result.get("headers"))
    raise SchemaDrift(f"{page}: the result set {name!r} is missing")


def _schedule_row(
    nba_id: str, day: dt.date, away: str, home: str, score: tuple[int, int] | None, overtimes: int
) -> dict:
    """One game's schedule row; ``score`` (away, home) of a final game, else None."""
    return {
        "game_id": warehouse_game_id(day, home),
        "game_date": day,
        "season": season_of_game(nba_id),
        "start_time": None,
        "away_team": away,
        "home_team": home,
        "away_pts": score[0] if score else None,
        "home_pts": score[1] if score else None,
        "overtimes": overtimes,
        "status": "final" if score else "scheduled",
        "attendance": None,
        "arena": None,
        "game_type": game_type_of(nba_id),
        "nba_game_id": nba_id,
    }


def _typed_schedule(records: list[dict]) -> pd.DataFrame:
    return schedule_frame(records, [*SCHEDULE_COLUMNS, "nba_game_id"])


# ---------------------------------------------------------------- schedule


def parse_league_game_log(payload: dict, *, page: str = "leaguegamelog") -> pd.DataFrame:
    """One final game per row (key: game_id) from a season's team game log (two rows a game).

    Home/away come from the matchup text ("BOS vs. NYK": BOS at home; "BOS @ NYK": BOS
    away). A neutral-site game lists both teams with "@": the first row read decides.
    Overtimes from the team minutes (240, then +25 per overtime).
    """
    rows = _result_set(payload, "LeagueGameLog", page)
    needed = {"GAME_ID", "GAME_DATE", "MATCHUP", "TEAM_ABBREVIATION", "PTS", "MIN"}
    missing = needed - set(rows.columns)
    if missing:
        raise SchemaDrift(f"{page}: LeagueGameLog lacks {', '.join(sorted(missing))}")
    rows = rows.assign(
        GAME_ID=rows["GAME_ID"].astype(str),
        team=rows["TEAM_ABBREVIATION"].astype(str).map(lambda c: teams.nba_code(c, page=page)),
    )
    parts = (
        rows["MATCHUP"].astype(str).str.strip().str.extract(r"^([A-Z]{3})\s+(vs\.|@)\s+([A-Z]{3})$")
    )
    bad = rows.loc[parts[0].isna(), "MATCHUP"]
    if not bad.empty:
        raise SchemaDrift(f"{page}: matchup {bad.iloc[0]!r} is not 'AAA vs. BBB' / 'AAA @ BBB'")
    rows["other"] = parts[2].map(lambda c: teams.nba_code(c, page=page))
    rows["at_home"] = parts[1] == "vs."
    points = {(g, t): p for g, t, p in zip(rows["GAME_ID"], rows["team"], rows["PTS"], strict=True)}
    minutes = pd.to_numeric(rows["MIN"], errors="coerce").groupby(rows["GAME_ID"]).max()
    sides = rows.groupby("GAME_ID", sort=False).size()
    records = []
    for first in rows.drop_duplicates("GAME_ID").itertuples(index=False):
        nba_id = first.GAME_ID
        home, away = (first.team, first.other) if first.at_home else (first.other, first.team)
        day = dt.date.fromisoformat(str(first.GAME_DATE)[:10])
        away_pts, home_pts = points.get((nba_id, away)), points.get((nba_id, home))
        final = sides[nba_id] == 2 and pd.notna(away_pts) and pd.notna(home_pts)
        played = minutes.get(nba_id)
        overtimes = (
            max(0, round((float(played) - TEAM_MINUTES_REGULATION) / 25)) if pd.notna(played) else 0
        )
        score = (int(away_pts), int(home_pts)) if final else None
        records.append(_schedule_row(nba_id, day, away, home, score, overtimes))
    return _typed_schedule(records)


def parse_scoreboard_v3(payload: dict, *, page: str = "scoreboardv3") -> pd.DataFrame:
    """A day's games (key: game_id) with status: 3 final, 1 scheduled; 2 (live) counts as
    scheduled, with no score, until it is final."""
    board = payload.get("scoreboard")
    if not isinstance(board, dict) or "games" not in board:
        raise SchemaDrift(f"{page}: scoreboard.games is missing")
    records = []
    for game in board["games"]:
        nba_id = str(game["gameId"])
        day, away, home = parse_game_code(game.get("gameCode", ""), page)
        final = int(game.get("gameStatus") or 0) == 3
        text_ = str(game.get("gameStatusText") or "").lower()
        status = (
            "final"
            if final
            else ("postponed" if "ppd" in text_ or "postponed" in text_ else "scheduled")
        )
        start = re.search(r"T(\d{2}:\d{2})", str(game.get("gameEt") or ""))
        score = (int(game["awayTeam"]["score"]), int(game["homeTeam"]["score"])) if final else None
        overtimes = max(0, int(game.get("period") or 0) - 4) if final else 0
        row = _schedule_row(nba_id, day, away, home, score, overtimes)
        records.append(row | {"status": status, "start_time": start.group(1) if start else None})
    return _typed_schedule(records)


def schedule_from_live(info: dict, totals: dict[str, int]) -> pd.DataFrame:
    """The schedule row of one game from its liveData box score (parse_live_boxscore)."""
    away, home = info["away"], info["home"]
    final = info["status"] == 3
    score = (totals[away], totals[home]) if final else None
    overtimes = max(0, info["period"] - 4) if final else 0
    return _typed_schedule(
        [_schedule_row(info["nba_game_id"], info["game_date"], away, home, score, overtimes)]
    )


# ---------------------------------------------------------------- box scores


def _player_record(
    player: dict, *, game_id: str, game_date: dt.date, team: str, opponent: str,
    is_home: bool, outcome: str, name: str, page: str,
) -> dict | None:  # fmt: skip
    stats = player.get("statistics")
    if not isinstance(stats, dict):
        raise SchemaDrift(f"{page}: player {player.get('personId')} has no statistics")
    seconds = played_seconds(stats.get("minutes"))
    if not seconds and str(player.get("played", "1")) != "1":
        return None
    if seconds is None:  # V3 leaves minutes empty for "DNP - ..." rows
        return None
    record = {
        "game_id": game_id,
        "player_id": nba_player_id(player["personId"]),
        "game_date": game_date,
        "player": name,
        "team": team,
        "opponent": opponent,
        "is_home": is_home,
        "outcome": outcome,
        "seconds_played": seconds,
        "plus_minus": int(round(float(stats.get("plusMinusPoints") or 0))),
        "game_score": None,
    }
    for ours, key in STATS.items():
        if key not in stats:
            raise SchemaDrift(f"{page}: player statistics lack {key!r}")
        record[ours] = int(stats[key])
    return record


def _box_frame(
    teams_: dict[str, dict], game_id: str, game_date: dt.date, name_of, page: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows of both teams' players who played, and {team code: the team's own points}."""
    codes = {side: teams.nba_code(str(teams_[side]["teamTricode"]), page=page) for side in teams_}
    totals = {codes[side]: int(team_points_of(teams_[side], page)) for side in teams_}
    records = []
    for side, other in (("homeTeam", "awayTeam"), ("awayTeam", "homeTeam")):
        team, opponent = codes[side], codes[other]
        outcome = "W" if totals[team] > totals[opponent] else "L"
        for player in teams_[side].get("players") or []:
            record = _player_record(
                player, game_id=game_id, game_date=game_date, team=team, opponent=opponent,
                is_home=side == "homeTeam", outcome=outcome, name=name_of(player), page=page,
            )  # fmt: skip
            if record is not None:
                records.append(record)
    return boxscore_frame(records), totals


def team_points_of(team: dict, page: str) -> int:
    """A team's points as the payload states them (V3: statistics.points; live: score)."""
    if team.get("score") not in (None, ""):
        return int(team["score"])
    stats = team.get("statistics") or {}
    if "points" in stats:
        return int(stats["points"])
    raise SchemaDrift(f"{page}: team {team.get('teamTricode')} has no score")


def parse_boxscore_v3(
    payload: dict, game_id: str, game_date: dt.date, *, page: str = "boxscoretraditionalv3"
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(players who played, {team: points the payload states}) from boxscoretraditionalv3.

    The V3 payload has no date: it is the schedule's. "DNP - ..." rows are left out, as
    basketball-reference's daily page leaves them out.
    """
    box = payload.get("boxScoreTraditional")
    if not isinstance(box, dict) or not {"homeTeam", "awayTeam"} <= set(box):
        raise SchemaDrift(f"{page}: boxScoreTraditional.homeTeam/awayTeam are missing")

    def name_of(player: dict) -> str:
        return f"{player.get('firstName', '')} {player.get('familyName', '')}".strip()

    sides = {"homeTeam": box["homeTeam"], "awayTeam": box["awayTeam"]}
    return _box_frame(sides, game_id, game_date, name_of, page)


def parse_live_boxscore(
    payload: dict, *, page: str = "liveData boxscore"
) -> tuple[pd.DataFrame, dict[str, int], dict]:
    """(players who played, {team: score}, game info) from the CDN's liveData box score.

    The game's date and teams come from its gameCode; game info holds nba_game_id,
    game_id (warehouse), game_date, away, home, status (3 = final), period.
    """
    game = payload.get("game")
    if not isinstance(game, dict) or not {"homeTeam", "awayTeam", "gameCode"} <= set(game):
        raise SchemaDrift(f"{page}: game.homeTeam/awayTeam/gameCode are missing")
    day, away, home = parse_game_code(game["gameCode"], page)
    info = {
        "nba_game_id": str(game.get("gameId")),
        "game_id": warehouse_game_id(day, home),
        "game_date": day,
        "away": away,
        "home": home,
        "status": int(game.get("gameStatus") or 0),
        "period": int(game.get("period") or 0),
    }

    def name_of(player: dict) -> str:
        return str(
            player.get("name") or f"{player.get('firstName', '')} {player.get('familyName', '')}"
        ).strip()

    sides = {"homeTeam": game["homeTeam"], "awayTeam": game["awayTeam"]}
    frame, totals = _box_frame(sides, info["game_id"], day, name_of, page)
    return frame, totals, info


# ---------------------------------------------------------------- play-by-play


def parse_actions(
    payload: dict,
    game_id: str,
    game_date: dt.date,
    away: str,
    home: str,
    *,
    page: str = "playbyplay",
) -> pd.DataFrame:
    """One row per action (key: game_id, event_idx from 0), from ``game.actions``.

    The shape is shared by playbyplayv3 and the liveData play-by-play. V3 leaves
    scoreHome/scoreAway empty when the score did not change: the last score is carried.
    ``points`` is what the action added to its team's score; ``team`` is the acting
    team's code (NULL for neutral actions: period start/end, some instant replays).
    """
    game = payload.get("game")
    actions = game.get("actions") if isinstance(game, dict) else None
    if not isinstance(actions, list) or not actions:
        raise SchemaDrift(f"{page}: game.actions is missing or empty")
    away_score = home_score = 0
    records = []
    # The game's order: liveData's orderNumber when every action has one, else the
    # payload's order (playbyplayv3: actionId 1, 2 ...). actionNumber is not: an action
    # edited in later keeps its late number.
    if all(str(a.get("orderNumber", "")).strip().isdigit() for a in actions):
        actions = sorted(actions, key=lambda a: int(a["orderNumber"]))
    for action in actions:
        period = int(action["period"])
        raw_home, raw_away = str(action.get("scoreHome") or ""), str(action.get("scoreAway") or "")
        new_home = int(raw_home) if raw_home.strip() else home_score
        new_away = int(raw_away) if raw_away.strip() else away_score
        code = str(action.get("teamTricode") or "").strip()
        team = teams.nba_code(code, page=page) if code else None
        home_delta, away_delta = new_home - home_score, new_away - away_score
        points = home_delta + away_delta
        if bool(home_delta) != bool(away_delta):  # the side whose score moved scored
            team = home if home_delta else away
        away_score, home_score = new_away, new_home
        records.append(
            {
                "game_id": game_id,
                "event_idx": len(records),
                "game_date": game_date,
                "period": period,
                "clock_secs": clock_seconds(str(action.get("clock") or "")),
                "team": team,
                "description": str(
                    action.get("description") or action.get("actionType") or ""
                ).strip(),
                "away_score": away_score,
                "home_score": home_score,
                "points": points,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=PBP_COLUMNS)
    for column in ("event_idx", "period", "away_score", "home_score", "points"):
        frame[column] = frame[column].astype("int64")
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    return frame


def teams_of_actions(payload: dict, page: str = "playbyplay") -> tuple[str | None, str | None]:
    """(away, home) from the actions' location flags ('v' visitor, 'h' home), when present."""
    found: dict[str, str] = {}
    for action in (payload.get("game") or {}).get("actions") or []:
        where, code = action.get("location"), str(action.get("teamTricode") or "")
        if where in ("v", "h") and code and where not in found:
            found[where] = teams.nba_code(code, page=page)
    return found.get("v"), found.get("h")
