"""Which dbt models a source feeds: the one map from a source to its dbt selection."""

from __future__ import annotations

from collections.abc import Iterable

from nba_elt.errors import BadInput

SOURCE_SELECTORS: dict[str, str] = {
    "schedule": "fact_schedule_data+",
    "boxscores": "fact_boxscores+",
    "pbp": "fact_pbp_data+",
}
TONIGHT_SELECTOR = "ml_tonights_games+"


def selection_for_sources(sources: Iterable[str]) -> str:
    """The dbt selection that rebuilds what `sources` feed, e.g. "fact_boxscores+ fact_pbp_data+".

    Accepts names or one comma-separated string. BadInput for an unknown source.
    """
    if isinstance(sources, str):
        sources = sources.split(",")
    wanted = {s.strip() for s in sources if s and s.strip()}
    unknown = sorted(wanted - SOURCE_SELECTORS.keys())
    if unknown:
        raise BadInput(
            f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCE_SELECTORS)}"
        )
    if not wanted:
        raise BadInput(f"no source given; choose from {', '.join(SOURCE_SELECTORS)}")
    return " ".join(sel for src, sel in SOURCE_SELECTORS.items() if src in wanted)
