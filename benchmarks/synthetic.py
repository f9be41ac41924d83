"""A SYNTHETIC NBA season for benchmarks and tests: made-up games, players and plays.

Nothing here is real data. The generator makes a season shaped like the NBA's (30 teams,
82 games each: 1,230 games; 12 players a team a game: ~29,500 player rows; ~450 play-by-play
events a game: ~550,000 events) whose numbers are internally consistent, like the real pages:
each team's player points add up to its final score, and the last play-by-play event carries
the final score. Rows go into nba_source with COPY.

    python -m benchmarks.synthetic --database-url postgresql://... [--games 1230] [--season 2025]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nba_elt.teams import TEAMS

log = logging.getLogger(__name__)

PLAYERS_PER_TEAM = 12
EVENTS_PER_GAME = 450
SCHEDULE_COLUMNS = (
    "game_id", "game_date", "season", "start_time", "away_team", "home_team", "away_pts",
    "home_pts", "overtimes", "status", "attendance", "arena", "game_type",
)  # fmt: skip
BOXSCORE_COLUMNS = (
    "game_id", "player_id", "game_date", "player", "team", "opponent", "is_home", "outcome",
    "seconds_played", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast",
    "stl", "blk", "tov", "pf", "pts", "plus_minus", "game_score",
)  # fmt: skip
PBP_COLUMNS = (
    "game_id", "event_idx", "game_date", "period", "clock_secs", "team", "description",
    "away_score", "home_score", "points",
)  # fmt: skip


@dataclass
class SyntheticSeason:
    """Rows for nba_source.schedule, boxscores and pbp, as tuples in the *_COLUMNS order."""

    schedule: list[tuple] = field(default_factory=list)
    boxscores: list[tuple] = field(default_factory=list)
    pbp: list[tuple] = field(default_factory=list)


def _split_points(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` points split among `parts` players (every share >= 0, sum exact)."""
    weights = [rng.random() ** 2 + 0.05 for _ in range(parts)]
    scale = total / sum(weights)
    shares = [int(w * scale) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % parts] += 1
    return shares


def _shooting_line(rng: random.Random, pts: int) -> tuple[int, int, int, int, int, int]:
    """fgm, fga, fg3m, fg3a, ftm, fta that score exactly `pts` (pts = 2 fgm + fg3m + ftm)."""
    ftm = min(pts, rng.randint(0, 6))
    rest = pts - ftm
    fg3m = rng.randint(0, rest // 3)
    if (rest - fg3m) % 2:
        fg3m -= 1 if fg3m > 0 else -1
        if fg3m * 3 > rest:  # pts == 1 leftovers: use a free throw instead
            fg3m, ftm, rest = 0, ftm + 1, rest - 1
    fgm = (rest - fg3m) // 2
    return (
        fgm,
        fgm + rng.randint(0, 8),
        fg3m,
        fg3m + rng.randint(0, 4),
        ftm,
        ftm + rng.randint(0, 2),
    )


def _scoring_plays(rng: random.Random, pts: int) -> list[int]:
    """A team's scoring plays (1, 2 or 3 points) adding up to `pts`."""
    plays = []
    left = pts
    while left > 0:
        play = min(left, rng.choice((1, 2, 2, 2, 3, 3)))
        plays.append(play)
        left -= play
    return plays


def _schedule(rng: random.Random, games: int, season: int) -> list[tuple[dt.date, str, str]]:
    """Rounds in which all 30 teams play once, two game days per round."""
    codes = [t.code for t in TEAMS]
    opening = dt.date(season - 1, 10, 22)
    out: list[tuple[dt.date, str, str]] = []
    round_no = 0
    while len(out) < games:
        order = codes[:]
        rng.shuffle(order)
        pairs = [(order[i], order[i + 1]) for i in range(0, len(order), 2)]
        for n, (a, b) in enumerate(pairs):
            day = opening + dt.timedelta(days=2 * round_no + (0 if n < 8 else 1))
            home, away = (a, b) if rng.random() < 0.5 else (b, a)
            out.append((day, home, away))
            if len(out) == games:
                break
        round_no += 1
    return out


def generate_season(
    season: int = 2025,
    games: int = 1230,
    events_per_game: int = EVENTS_PER_GAME,
    seed: int = 20250101,
) -> SyntheticSeason:
    """A synthetic season (see the module docstring). Deterministic for a given seed."""
    rng = random.Random(seed)
    by_code = {t.code: t for t in TEAMS}
    result = SyntheticSeason()
    per_game_ids: dict[str, int] = {}
    for day, home, away in _schedule(rng, games, season):
        stem = f"{day:%Y%m%d}0{by_code[home].bbref_code}"
        per_game_ids[stem] = per_game_ids.get(stem, 0) + 1
        game_id = stem if per_game_ids[stem] == 1 else f"{stem}{per_game_ids[stem]}"
        home_pts, away_pts = rng.randint(92, 132), rng.randint(90, 130)
        overtimes = 0
        while home_pts == away_pts:
            overtimes += 1
            home_pts += rng.randint(5, 15)
            away_pts += rng.randint(5, 15)
        result.schedule.append(
            (game_id, day, season, "7:30p", away, home, away_pts, home_pts, overtimes, "final",
             18000 + rng.randint(0, 2000), f"{by_code[home].name} Arena (synthetic)", "regular")
        )  # fmt: skip
        for team, opponent, is_home, pts, opp_pts in (
            (home, away, True, home_pts, away_pts),
            (away, home, False, away_pts, home_pts),
        ):
            outcome = "W" if pts > opp_pts else "L"
            for n, share in enumerate(_split_points(rng, pts, PLAYERS_PER_TEAM)):
                fgm, fga, fg3m, fg3a, ftm, fta = _shooting_line(rng, share)
                oreb, dreb = rng.randint(0, 4), rng.randint(0, 9)
                ast, stl, blk, tov, pf = (rng.randint(0, 8), rng.randint(0, 3), rng.randint(0, 2),
                                          rng.randint(0, 4), rng.randint(0, 5))  # fmt: skip
                game_score = round(
                    share
                    + 0.4 * fgm
                    - 0.7 * fga
                    - 0.4 * (fta - ftm)
                    + 0.7 * oreb
                    + 0.3 * dreb
                    + stl
                    + 0.7 * ast
                    + 0.7 * blk
                    - 0.4 * pf
                    - tov,
                    1,
                )
                result.boxscores.append(
                    (game_id, f"syn{team.lower()}{n:02d}", day, f"Synthetic {team} Player {n}",
                     team, opponent, is_home, outcome, rng.randint(300, 2400), fgm, fga, fg3m,
                     fg3a, ftm, fta, oreb, dreb, oreb + dreb, ast, stl, blk, tov, pf, share,
                     rng.randint(-20, 20), game_score)
                )  # fmt: skip
        result.pbp.extend(_game_events(rng, game_id, day, home, away, home_pts, away_pts,
                                       overtimes, events_per_game))  # fmt: skip
    return result


def _game_events(
    rng: random.Random,
    game_id: str,
    day: dt.date,
    home: str,
    away: str,
    home_pts: int,
    away_pts: int,
    overtimes: int,
    n_events: int,
) -> Iterable[tuple]:
    """Every event of a game: scoring plays that reach the final score, misses in between."""
    plays = [(home, p) for p in _scoring_plays(rng, home_pts)]
    plays += [(away, p) for p in _scoring_plays(rng, away_pts)]
    rng.shuffle(plays)
    n_total = max(n_events, len(plays))
    # scoring plays keep their order in random slots; misses fill the other slots
    scoring_slots = sorted(rng.sample(range(n_total), len(plays)))
    order: list[tuple[str, int]] = [(rng.choice((home, away)), 0) for _ in range(n_total)]
    for slot, play in zip(scoring_slots, plays, strict=True):
        order[slot] = play
    periods = 4 + overtimes
    total_secs = 2880 + 300 * overtimes
    away_score = home_score = 0
    for idx, (team, points) in enumerate(order):
        elapsed = total_secs * (idx + 1) / (len(order) + 1)
        if elapsed < 2880:
            period = int(elapsed // 720) + 1
            clock = 720 - (elapsed - (period - 1) * 720)
        else:
            period = min(periods, 5 + int((elapsed - 2880) // 300))
            clock = 300 - (elapsed - 2880 - (period - 5) * 300)
        if points:
            if team == home:
                home_score += points
            else:
                away_score += points
            text = f"{team} synthetic {points}-pt make"
        else:
            text = f"{team} synthetic miss"
        yield (game_id, idx, day, period, round(clock, 1), team, text, away_score, home_score,
               points)  # fmt: skip


def _copy(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    cursor.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin", buffer)
    return count


def load_season(dsn: str, season: SyntheticSeason, *, replace: bool = True) -> dict[str, int]:
    """COPY a synthetic season into nba_source (deleting what is there first by default)."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            if replace:
                cur.execute("truncate nba_source.schedule, nba_source.boxscores, nba_source.pbp")
            counts = {
                "schedule": _copy(cur, "nba_source.schedule", SCHEDULE_COLUMNS, season.schedule),
                "boxscores": _copy(cur, "nba_source.boxscores", BOXSCORE_COLUMNS, season.boxscores),
                "pbp": _copy(cur, "nba_source.pbp", PBP_COLUMNS, season.pbp),
            }
            cur.execute("analyze nba_source.schedule, nba_source.boxscores, nba_source.pbp")
    finally:
        conn.close()
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="libpq URL of the warehouse")
    parser.add_argument("--season", type=int, default=2025)
    parser.add_argument("--games", type=int, default=1230)
    args = parser.parse_args(argv)
    counts = load_season(args.database_url, generate_season(args.season, args.games))
    print(counts)


if __name__ == "__main__":
    main()
