"""`invoke predict` (also `python -m nba_elt.cli.predict [--date D] [--json]`)."""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nba_elt.cli.predict",
        description="Predict a date's games into ml_models.ml_game_predictions.",
    )
    parser.add_argument("--date", help="the game date (default: today, US Eastern)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line last")
    args = parser.parse_args(argv)
    from invoke import Exit

    from nba_elt.cli import run_task

    try:
        run_task("predict", predict_task, as_json=args.json, date=args.date)
    except Exit as exc:
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
