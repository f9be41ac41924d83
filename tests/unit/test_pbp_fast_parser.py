"""The single-pass pbp parser (issue #14) against the pre-#14 parser, on real recorded pages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nba_elt.errors import SchemaDrift
from nba_elt.sources.pbp import parse_pbp
from tests.pbp_reference import parse_pbp_reference

PBP_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "bbref" / "pbp"
SHARED_PBP = Path("/work/shared/fixtures/bbref/pbp")
PAGES = sorted(
    {p.name: p for d in (SHARED_PBP, PBP_DIR) if d.is_dir() for p in d.glob("*.html")}.values()
)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_fast_parser_matches_the_previous_parser_on_every_recorded_page(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    fast = parse_pbp(html, path.stem)
    reference = parse_pbp_reference(html, path.stem)
    assert len(fast) > 400
    pd.testing.assert_frame_equal(fast, reference, check_exact=True)


def _den_page() -> str:
    return (PBP_DIR / "201901010DEN.html").read_text(encoding="utf-8")


def test_a_seventh_cell_is_schema_drift_naming_the_page_and_row() -> None:
    html = _den_page()
    row = "<td>11:33.0</td>\n<td>&nbsp;</td>"
    assert row in html
    drifted = html.replace(row, row + "<td>extra</td>", 1)
    with pytest.raises(SchemaDrift) as caught:
        parse_pbp(drifted, "201901010DEN", page="/boxscores/pbp/201901010DEN.html")
    message = str(caught.value)
    assert "/boxscores/pbp/201901010DEN.html" in message
    assert "has 7 cells" in message
    assert "11:33.0" in message and "row " in message


def test_a_row_of_cells_without_a_clock_is_schema_drift() -> None:
    html = _den_page()
    drifted = html.replace("<td>11:33.0</td>", "<td>soon</td>", 1)
    with pytest.raises(SchemaDrift, match="no clock"):
        parse_pbp(drifted, "201901010DEN")


def test_recorded_den_page_facts() -> None:
    frame = parse_pbp(_den_page(), "201901010DEN")
    last = frame.iloc[-1]
    assert (int(last["away_score"]), int(last["home_score"])) == (108, 115)  # NYK 108 @ DEN 115
    assert frame["event_idx"].tolist() == list(range(len(frame)))
    assert frame.loc[frame["team"] == "DEN", "points"].sum() == 115
    assert frame["description"].iloc[0].startswith("Jump ball")


def test_recorded_den_page_scorebox_gives_teams_and_final() -> None:
    from nba_elt.sources.pbp import page_facts

    facts = page_facts(_den_page(), "201901010DEN")
    assert (facts.away, facts.home, facts.final, facts.whole) == ("NYK", "DEN", (108, 115), True)


def test_a_page_without_its_scorebox_is_schema_drift() -> None:
    drifted = _den_page().replace('<div class="scorebox">', '<div class="box-summary">', 1)
    with pytest.raises(SchemaDrift, match="scorebox with both teams' links is missing"):
        parse_pbp(drifted, "201901010DEN")


def test_a_scorebox_without_its_scores_gives_no_final_and_the_unit_is_refused() -> None:
    from nba_elt.errors import ConsistencyError
    from nba_elt.sources.pbp import check_unit, page_facts

    html = _den_page().replace('<div class="score">', '<div class="points">')
    facts = page_facts(html, "201901010DEN")
    assert facts.final is None
    with pytest.raises(ConsistencyError, match="no final score"):
        check_unit(parse_pbp(html, "201901010DEN"), facts)
