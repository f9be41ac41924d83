"""dbt's team seeds say what nba_elt/teams.py says: one list of teams, kept equal by this test."""

from __future__ import annotations

import csv
from pathlib import Path

from nba_elt import teams

SEEDS = Path(__file__).resolve().parents[2] / "dbt" / "seeds"


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, newline="") as handle:
        return list(csv.DictReader(handle))


def test_teams_seed_is_teams_py():
    seed = {
        (r["team"], r["bbref_code"], r["team_name"], r["conference"], r["division"])
        for r in _rows("teams.csv")
    }
    code = {(t.code, t.bbref_code, t.name, t.conference, t.division) for t in teams.TEAMS}
    assert seed == code
    assert len(seed) == 30


def test_bbref_code_seed_maps_every_code_teams_py_knows():
    seed = {r["bbref_code"]: r["team"] for r in _rows("bbref_team_codes.csv")}
    bbref_codes = {t.bbref_code for t in teams.TEAMS} | set(teams._HISTORICAL_BBREF)
    assert seed == {code: teams.nba_code(code) for code in bbref_codes}
