"""The score rule of every unit, written once: a final game's figures equal its final score.

The figures are the players' points per team and the last play-by-play event's score
(or the NBA's team totals, or the points of the events); each source, verify's consistency
check and `verify --cross-provider` compare theirs here and word the disagreements for their
readers. dbt keeps its own test of the loaded rows (dbt/tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

Score = tuple[int, int]  # (away, home)
Figure = tuple[int | None, int | None]  # (away, home); None: that team has no figure


@dataclass(frozen=True)
class FinalGame:
    game_id: str
    away: str
    home: str
    score: Score


@dataclass(frozen=True)
class Disagreement:
    """A final game whose figure is not its final score."""

    game: FinalGame
    found: Figure

    def first_team(self) -> tuple[str, int | None, int]:
        """(team, its figure, its final points) of the first side that differs, away first."""
        side = 0 if self.found[0] != self.game.score[0] else 1
        return (self.game.away, self.game.home)[side], self.found[side], self.game.score[side]


def final_games(schedule: pd.DataFrame) -> list[FinalGame]:
    """The final games with a score of a schedule frame (game_id, away_team, home_team,
    away_pts, home_pts, status), in its order."""
    finals = schedule[
        (schedule["status"] == "final")
        & schedule["away_pts"].notna()
        & schedule["home_pts"].notna()
    ]
    return [
        FinalGame(g.game_id, g.away_team, g.home_team, (int(g.away_pts), int(g.home_pts)))
        for g in finals.itertuples()
    ]


def team_points(players: pd.DataFrame, games: Iterable[FinalGame]) -> dict[str, Figure]:
    """{game_id: (away players' points, home players' points)} of the games among the
    player rows (game_id, team, pts)."""
    sums = {key: int(v) for key, v in players.groupby(["game_id", "team"])["pts"].sum().items()}
    listed = set(players["game_id"])
    return {
        g.game_id: (sums.get((g.game_id, g.away)), sums.get((g.game_id, g.home)))
        for g in games
        if g.game_id in listed
    }


def score_disagreements(
    games: Iterable[FinalGame], figures: Mapping[str, Figure]
) -> list[Disagreement]:
    """Every game whose figure (by game id) is not its final score, in the games' order. A
    game without a figure is not compared; a team without one disagrees."""
    return [
        Disagreement(game, tuple(figures[game.game_id]))  # type: ignore[arg-type]
        for game in games
        if game.game_id in figures and tuple(figures[game.game_id]) != game.score
    ]


def score_text(score: Figure) -> str:
    return f"{score[0]}-{score[1]}"
