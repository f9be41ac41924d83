"""`nba-elt predict` (also `python -m nba_elt.cli.predict [--date D] [--json]`)."""

from __future__ import annotations

import sys
from pathlib import Path

from nba_elt.cli import TaskResult
from nba_elt.cli.render import print_predictions


def predict_task(date: str | None = None, model_path: str | Path | None = None) -> TaskResult:
    """`invoke predict`: predict the date's games (default today, US Eastern)."""
    import nba_elt

    result = nba_elt.predict(date, model_path=model_path, as_result=True)
    print_predictions(result)
    return TaskResult.of(result)


def main() -> None:
    """`python -m nba_elt.cli.predict [flags]`: the same as `nba-elt predict [flags]`."""
    from nba_elt.cli.program import main as nba_elt

    nba_elt(["predict", *sys.argv[1:]])


if __name__ == "__main__":
    main()
