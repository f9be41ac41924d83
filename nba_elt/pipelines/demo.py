"""`invoke demo`: the whole loop, offline, on recorded real pages and the embedded Postgres.

What it does (and only this; it says so when it runs):

1. seeds a raw archive (``<NBA_ELT_LOCALDB_DIR>/demo-archive``, by default ``.nba_elt/localdb/demo-archive``)
   with the real basketball-reference pages that ship with the tests (tests/fixtures/bbref);
2. creates a fresh database ``nba_elt_demo`` on the embedded local Postgres (started when
   needed). It never writes to NBA_ELT_DATABASE_URL nor to the local ``nba_elt`` database;
3. backfill --offline: schedule + box scores of 2018-01-01 (4 games: the January 2018
   schedule page and the daily leaders page), then play-by-play of the three recorded
   games 201810160GSW, 201810270MIL, 201901010DEN (by game id);
4. refresh: a dbt build of everything, ml_tonights_games for 2018-01-01;
5. predict the 4 games of 2018-01-01;
6. verify 2018-01-01. The recorded pages hold no play-by-play of that night, so the demo
   turns the pbp flag off in its own database: completeness is checked for the schedule
   and box scores, as a daily run without pbp would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from nba_elt.cli import TaskResult, console
from nba_elt.config import PROJECT_ROOT, get_settings
from nba_elt.errors import EXIT_OK, ConfigError
from nba_elt.warehouse.db import display_url

log = logging.getLogger(__name__)

DEMO_DATABASE = "nba_elt_demo"
DEMO_DATE = "2018-01-01"
DEMO_PBP_GAMES = ("201810160GSW", "201810270MIL", "201901010DEN")
RECORDED_PAGES = PROJECT_ROOT / "tests" / "fixtures" / "bbref"

# recorded file (under tests/fixtures/bbref) -> the site path it answers (PROVENANCE.md)
PAGES: dict[str, str] = {
    "schedule/NBA_2018_games-january.html": "/leagues/NBA_2018_games-january.html",
    "schedule/NBA_2018_games-april.html": "/leagues/NBA_2018_games-april.html",
    "dailyleaders/2018-01-01.html": "/friv/dailyleaders.fcgi?month=1&day=1&year=2018",
    "scoreboard/2018-01-01.html": "/boxscores/?month=1&day=1&year=2018",
    "pbp/201901010DEN.html": "/boxscores/pbp/201901010DEN.html",
    "pbp/201810160GSW.html": "/boxscores/pbp/201810160GSW.html",
    "pbp/201810270MIL.html": "/boxscores/pbp/201810270MIL.html",
}

COVERS = (
    "the demo covers 2018-01-01 (4 games: schedule + box scores, checked against the final "
    "scores) and the play-by-play of 3 recorded games (2018-10-16 GSW, 2018-10-27 MIL, "
    "2019-01-01 DEN); its predictions use a model that has seen no earlier game of the season"
)


def seed_archive(archive_dir: str | Path, pages_dir: Path = RECORDED_PAGES) -> int:
    """Put the recorded pages into the raw archive at `archive_dir`; pages written."""
    from nba_elt.extract.archive import open_archive

    missing = [name for name in PAGES if not (pages_dir / name).is_file()]
    if missing:
        raise ConfigError(
            f"the demo replays the recorded pages of a source checkout, and {pages_dir} lacks "
            f"{', '.join(missing)}: run it from a clone of the repository"
        )
    archive = open_archive(str(archive_dir), get_settings())
    for name, path in PAGES.items():
        archive.put(path, (pages_dir / name).read_text(encoding="utf-8"), 200)
    return len(PAGES)


def fresh_demo_database() -> str:
    """(Re)create nba_elt_demo on the embedded local Postgres; its URL."""
    from nba_elt.warehouse import localdb

    cluster = localdb.from_settings(get_settings())
    cluster.up()
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{DEMO_DATABASE}" with (force)')
            conn.exec_driver_sql(f'create database "{DEMO_DATABASE}"')
    finally:
        admin.dispose()
    return cluster.url(DEMO_DATABASE)


@contextlib.contextmanager
def _demo_environment(database_url: str, archive_dir: Path) -> Iterator[None]:
    """The steps read their settings from the environment: point them at the demo's."""
    wanted = {
        "NBA_ELT_DATABASE_URL": database_url,
        "NBA_ELT_ARCHIVE_DIR": str(archive_dir),
        "NBA_ELT_SLACK_WEBHOOK_URL": "",  # a demo sends no alert
    }
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _disable_pbp_flag(database_url: str) -> TaskResult:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "update nba_source.feature_flags set is_enabled = false, description = "
                    "description || ' (disabled by invoke demo: no recorded pbp of its date)' "
                    "where flag = 'pbp'"
                )
            )
    finally:
        engine.dispose()
    return TaskResult(EXIT_OK, "pbp flag off in nba_elt_demo (no recorded pbp of 2018-01-01)")


def demo_task() -> TaskResult:
    """Replay the recorded pages through backfill -> refresh -> predict -> verify, offline."""
    from ml.app import predict_task
    from nba_elt.checks.verify import verify_task
    from nba_elt.ingest.backfill import backfill_task
    from nba_elt.pipelines.daily import run_step
    from nba_elt.transform.dbt import refresh_task

    settings = get_settings()
    if settings.database_url:
        console.print(
            "NBA_ELT_DATABASE_URL is set; the demo leaves that warehouse alone and uses the "
            "embedded local Postgres"
        )
    archive_dir = Path(settings.localdb_dir) / "demo-archive"  # local state lives together
    shutil.rmtree(archive_dir, ignore_errors=True)
    pages = seed_archive(archive_dir)
    console.print(f"seeded {pages} recorded pages into the raw archive {archive_dir}")
    database_url = fresh_demo_database()
    console.print(f"fresh database {DEMO_DATABASE} on the embedded local Postgres")
    console.print(COVERS)

    steps: list[tuple[str, Callable[[], TaskResult]]] = [
        (
            f"backfill {DEMO_DATE} (schedule, boxscores)",
            lambda: backfill_task(date=DEMO_DATE, sources="schedule,boxscores", offline=True),
        ),
        (
            "backfill pbp of " + ", ".join(DEMO_PBP_GAMES),
            lambda: backfill_task(games=",".join(DEMO_PBP_GAMES), sources="pbp", offline=True),
        ),
        ("refresh (dbt build)", lambda: refresh_task(full=False, run_date=DEMO_DATE)),
        (f"predict {DEMO_DATE}", lambda: predict_task(date=DEMO_DATE)),
        ("pbp flag", lambda: _disable_pbp_flag(database_url)),
        (f"verify {DEMO_DATE}", lambda: verify_task(date=DEMO_DATE, run_date=DEMO_DATE)),
    ]
    outcomes = []
    with _demo_environment(database_url, archive_dir):
        for name, body in steps:
            outcome, result = run_step(name, body, label="demo")
            outcomes.append(outcome)
            if result.exit_code != EXIT_OK:
                return TaskResult(
                    result.exit_code,
                    f"the demo stopped at {name}: {result.message}",
                    {"status": "failed", "steps": [o.as_dict() for o in outcomes]},
                )
    summary = {
        "status": "succeeded",
        "database": DEMO_DATABASE,
        "archive": str(archive_dir),
        "covers": COVERS,
        "steps": [o.as_dict() for o in outcomes],
    }
    return TaskResult(
        EXIT_OK,
        f"backfill -> refresh -> predict -> verify passed offline on recorded pages; {COVERS}. "
        f"Look at the result: psql {display_url(database_url)}",
        summary,
    )
