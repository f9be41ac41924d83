"""dbt refresh of a SYNTHETIC season: a full refresh, and a refresh after one backfilled date.

    python -m benchmarks.dbt_refresh [--rounds 2] [--variants] [--database-url URL]

Loads 1,230 games, ~29,500 player rows and ~550,000 play-by-play events
(benchmarks/synthetic.py) into nba_source of a scratch database (TRUNCATED first), dated
a day back. Each round then times, through `nba_elt.transform.dbt.refresh` (what
`invoke refresh` runs, minus Python's start-up):

  full         refresh(full=True)   = dbt build --full-refresh of everything
  one date     one older date re-loaded (its rows get _loaded_at = now(), as a backfill
               writes them), then refresh(sources=<the three>), what `invoke backfill
               --refresh` runs: the sources' facts+ (incremental) and tonight's models
  by hand      the same after another re-load, by hand: `dbt build --select <the selection
               that refresh ran>` from dbt/ with the same profile, flags and environment
               (run date, tests since), as dbt's own command line; the ratio one date /
               by hand is the product's overhead over dbt alone
  in process   the one-date refresh again with refresh(..., in_process=True): dbt's runner
               in this interpreter (the first round pays dbt's import)
  shell        the same after another re-load, as the operator types it: `invoke refresh
               --sources schedule,boxscores,pbp --run-date D --json` in a new process
               (Python's start-up and the CLI included)

Each round uses a different run date, as each day's refresh does: the log must not say dbt
re-parsed the project ("Unable to do partial parsing"). --variants also times the one-date
refresh with dbt threads 4 / 8 and its file log at debug / info, interleaved.
Targets: one date <= 6 s, full <= 10 s (wall), and a refresh as fast as dbt by hand. dbt
runs as `invoke refresh` runs it: a new dbt process per build (cold: dbt's import and its
reading of the project each time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text

from benchmarks.scratch import libpq, machine_line, scratch_url, spread
from benchmarks.synthetic import generate_season, load_season

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "nba_elt_benchmark"
FIRST_RUN_DATE = dt.date(2025, 2, 1)  # mid-season: ml_tonights_games has games
BACKFILLED_DATE = "2024-11-05"
TARGET_ONE_DATE, TARGET_FULL = 6.0, 10.0
REPARSE = "Unable to do partial parsing"
SOURCES = "schedule,boxscores,pbp"  # what a backfill of one date touches


def _dbt_log():
    from nba_elt.transform.build import target_path

    return target_path().parent / "logs" / "dbt.log"


def _timed_refresh(**kwargs) -> tuple[float, bool, bool, dict]:
    """(wall seconds, build ok, dbt re-parsed the whole project, the refresh's summary)."""
    from nba_elt import refresh

    log_file = _dbt_log()
    offset = log_file.stat().st_size if log_file.exists() else 0
    started = time.monotonic()
    result = refresh(**kwargs)
    seconds = time.monotonic() - started
    with open(log_file, "rb") as handle:
        handle.seek(offset)
        reparsed = REPARSE.encode() in handle.read()
    return seconds, result.exit_code == 0, reparsed, result.summary


def _timed_invoke_refresh(url: str, run_date: str) -> tuple[float, bool]:
    """`invoke refresh` in a new process, as from the shell: (wall seconds, exit 0)."""
    env = dict(os.environ, NBA_ELT_DATABASE_URL=url)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "invoke", "refresh", "--sources", SOURCES]
    argv += ["--run-date", run_date, "--json"]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return time.monotonic() - started, done.returncode == 0


def _timed_dbt_by_hand(url: str, selection: str, run_date: str, tests_since: str | None):
    """`dbt build --select ...` as typed in dbt/, with the refresh's profile, flags and
    environment: (wall seconds, exit 0)."""
    from sqlalchemy.engine import make_url

    from nba_elt.config import get_settings
    from nba_elt.transform import build

    target_name = get_settings().target
    env = build.dbt_env(make_url(url), target_name)
    env[build.RUN_DATE_ENV] = run_date
    if tests_since:
        env[build.TESTS_SINCE_ENV] = tests_since
    target = build.target_path()
    argv = [build.dbt_executable(), "--no-use-colors", "--log-level-file", build.DBT_FILE_LOG_LEVEL,
            "build", "--profiles-dir", ".", "--target-path", str(target),
            "--log-path", str(target.parent / "logs"), "--target", target_name,
            "--threads", str(build.DBT_THREADS), "--exclude-resource-type", "unit_test",
            "--select", *selection.split()]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, cwd=build.DBT_DIR, env=env, capture_output=True, timeout=600)
    return time.monotonic() - started, done.returncode == 0


def _backfill_one_date(engine) -> None:
    with engine.begin() as conn:
        for table in ("schedule", "boxscores", "pbp"):
            conn.execute(
                text(f"update nba_source.{table} set _loaded_at = now() where game_date = :d"),
                {"d": BACKFILLED_DATE},
            )


def _variant(threads: int, level: str):
    from nba_elt.transform import build

    build.DBT_THREADS, build.DBT_FILE_LOG_LEVEL = threads, level


def run(url: str, rounds: int, variants: bool) -> dict:
    from nba_elt.transform import build as dbt
    from nba_elt.warehouse.db import get_engine

    os.environ["NBA_ELT_DATABASE_URL"] = url
    engine = get_engine()
    counts = load_season(libpq(url), generate_season())
    # Each date loaded the morning after it was played, as the daily run does (at the latest a
    # day ago): only the backfilled date is new. Loaded all at one instant, every game sat
    # within the facts' 60-minute lookback of the newest row, so the first incremental
    # refresh re-read the whole season (the 13-25 s outliers of earlier runs).
    loaded_at = "least(game_date + interval '30 hours', now() - interval '1 day')"
    with engine.begin() as conn:
        for table in ("schedule", "boxscores", "pbp"):
            conn.execute(text(f"update nba_source.{table} set _loaded_at = {loaded_at}"))
    # the load and that update leave ~580k dead rows; vacuum them now, or autovacuum does it
    # during the first timed builds
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(
            "vacuum analyze nba_source.schedule, nba_source.boxscores, nba_source.pbp"
        )
    chosen = (dbt.DBT_THREADS, dbt.DBT_FILE_LOG_LEVEL)
    day = FIRST_RUN_DATE
    _timed_refresh(full=True, run_date=day.isoformat())  # warm-up: dbt's first parse
    figures: dict = {
        "counts": counts, "full": [], "one_date": [], "by_hand": [], "in_process": [],
        "shell": [], "reparsed": 0, "failed": 0,
    }  # fmt: skip
    variant_times: dict[tuple[int, str], list[float]] = {}
    for _ in range(rounds):
        for kind, kwargs in (("full", {"full": True}), ("one_date", {"sources": SOURCES})):
            day += dt.timedelta(days=1)
            if kind == "one_date":
                _backfill_one_date(engine)
            seconds, ok, reparsed, summary = _timed_refresh(run_date=day.isoformat(), **kwargs)
            figures[kind].append(seconds)
            figures["reparsed"] += reparsed
            figures["failed"] += not ok
        day += dt.timedelta(days=1)
        _backfill_one_date(engine)
        seconds, ok = _timed_dbt_by_hand(
            url, summary["selection"], day.isoformat(), summary["tests_since"]
        )
        figures["by_hand"].append(seconds)
        figures["failed"] += not ok
        day += dt.timedelta(days=1)
        _backfill_one_date(engine)
        seconds, ok, _, _ = _timed_refresh(
            run_date=day.isoformat(), sources=SOURCES, in_process=True
        )
        figures["in_process"].append(seconds)
        figures["failed"] += not ok
        day += dt.timedelta(days=1)
        _backfill_one_date(engine)
        seconds, ok = _timed_invoke_refresh(url, day.isoformat())
        figures["shell"].append(seconds)
        figures["failed"] += not ok
        if variants:
            for threads, level in ((4, "debug"), (4, "info"), (8, "debug"), (8, "info")):
                _variant(threads, level)
                day += dt.timedelta(days=1)
                _backfill_one_date(engine)
                seconds, ok, _, _ = _timed_refresh(run_date=day.isoformat(), sources=SOURCES)
                variant_times.setdefault((threads, level), []).append(seconds)
                figures["failed"] += not ok
            _variant(*chosen)
    figures["variants"] = variant_times
    figures["chosen"] = chosen
    return figures


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def report(figures: dict) -> str:
    counts = figures["counts"]
    one, full = figures["one_date"], figures["full"]
    verdict_one = "meets" if sorted(one)[len(one) // 2] <= TARGET_ONE_DATE else "MISSES"
    verdict_full = "meets" if sorted(full)[len(full) // 2] <= TARGET_FULL else "MISSES"
    lines = [
        f"dbt refresh: SYNTHETIC season of {counts['schedule']:,} games, "
        f"{counts['boxscores']:,} player rows, {counts['pbp']:,} pbp events; dbt threads "
        f"{figures['chosen'][0]}, file log {figures['chosen'][1]}",
        f"refresh after one backfilled date, s: {spread(one)} -> {verdict_one} <= "
        f"{TARGET_ONE_DATE}; ratio to target {sorted(one)[len(one) // 2] / TARGET_ONE_DATE:.2f}",
        f"dbt build by hand, same selection and profile, s: {spread(figures['by_hand'])}; "
        f"refresh / by hand {_median(one) / _median(figures['by_hand']):.2f}x",
        f"refresh in process (dbt's runner in this interpreter), s: "
        f"{spread(figures['in_process'])}",
        f"`invoke refresh` after one backfilled date, from the shell, s: "
        f"{spread(figures['shell'])}; shell / by hand "
        f"{_median(figures['shell']) / _median(figures['by_hand']):.2f}x",
        f"full refresh, s: {spread(full)} -> {verdict_full} <= {TARGET_FULL}; ratio to "
        f"target {sorted(full)[len(full) // 2] / TARGET_FULL:.2f}",
        f"builds that re-parsed the whole project: {figures['reparsed']} (a new run date each); "
        f"failed builds: {figures['failed']}",
    ]
    for (threads, level), times in figures["variants"].items():
        lines.append(
            f"variant threads {threads}, file log {level}: one-date refresh {spread(times)}"
        )
    lines.append(f"machine: {machine_line()}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a SCRATCH database (nba_source is truncated)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", action="store_true", help="also time threads/log levels")
    args = parser.parse_args(argv)
    print(report(run(scratch_url(args.database_url, SCRATCH_DB), args.rounds, args.variants)))


if __name__ == "__main__":
    main()
