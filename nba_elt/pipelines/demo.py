"""`invoke demo`: the whole loop, offline, on recorded real pages and the embedded Postgres.

It seeds a raw archive (``<NBA_ELT_LOCALDB_DIR>/demo-archive``) with the real
basketball-reference pages of tests/fixtures/bbref, creates a fresh database
``nba_elt_demo`` on the embedded local Postgres (it never writes to NBA_ELT_DATABASE_URL
nor to the local ``nba_elt`` database), then runs backfill --offline, refresh, predict and
verify of 2018-01-01, plus the pbp of three recorded games (docs/operations.md). The
recorded pages hold no play-by-play of 2018-01-01, so the demo turns the pbp flag off in
its own database: completeness is checked for the schedule and box scores, as a daily run
without pbp would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from nba_elt.config import PROJECT_ROOT, Settings, get_settings
from nba_elt.errors import EXIT_OK, ConfigError
from nba_elt.pipelines.daily import LogObserver, StepObserver, run_steps
from nba_elt.results import Result
from nba_elt.warehouse.db import display_url

log = logging.getLogger(__name__)

DEMO_DATABASE = "nba_elt_demo"
DEMO_DATE = dt.date(2018, 1, 1)
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


def seed_archive(
    archive_dir: str | Path, pages_dir: Path = RECORDED_PAGES, settings: Settings | None = None
) -> int:
    """Put the recorded pages into the raw archive at `archive_dir`; pages written."""
    from nba_elt.extract.archive import open_archive

    missing = [name for name in PAGES if not (pages_dir / name).is_file()]
    if missing:
        raise ConfigError(
            f"the demo replays the recorded pages of a source checkout, and {pages_dir} lacks "
            f"{', '.join(missing)}: run it from a clone of the repository"
        )
    archive = open_archive(str(archive_dir), settings or get_settings())
    for name, path in PAGES.items():
        archive.put(path, (pages_dir / name).read_text(encoding="utf-8"), 200)
    return len(PAGES)


def fresh_demo_database(settings: Settings | None = None) -> str:
    """(Re)create nba_elt_demo on the embedded local Postgres; its URL."""
    from nba_elt.warehouse import localdb

    cluster = localdb.from_settings(settings or get_settings())
    cluster.up()
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{DEMO_DATABASE}" with (force)')
            conn.exec_driver_sql(f'create database "{DEMO_DATABASE}"')
    finally:
        admin.dispose()
    return cluster.url(DEMO_DATABASE)


def demo_settings(settings: Settings, database_url: str, archive_dir: Path) -> Settings:
    """The steps' settings: the demo's database and archive, and no alert."""
    return dataclasses.replace(
        settings,
        database_url=database_url,
        archive_dir=str(archive_dir),
        slack_webhook_url=None,
    )


def _disable_pbp_flag(database_url: str) -> Result:
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
    return Result(EXIT_OK, "pbp flag off in nba_elt_demo (no recorded pbp of 2018-01-01)")


@dataclass
class DemoResult(Result):
    """The demo's steps; `database_url` is the demo database (look at it with psql)."""

    database_url: str = ""


def demo(*, settings: Settings | None = None, observer: StepObserver | None = None) -> DemoResult:
    """Replay the recorded pages through backfill -> refresh -> predict -> verify, offline."""
    from nba_elt.checks.verify import VerifyRequest, verify
    from nba_elt.ingest.request import BackfillRequest
    from nba_elt.pipelines.steps import backfill, predict, refresh
    from nba_elt.transform.dbt import RefreshRequest

    settings = settings or get_settings()
    observer = observer or LogObserver()
    if settings.database_url:
        observer.note(
            "NBA_ELT_DATABASE_URL is set; the demo leaves that warehouse alone and uses the "
            "embedded local Postgres"
        )
    archive_dir = Path(settings.localdb_dir) / "demo-archive"  # local state lives together
    shutil.rmtree(archive_dir, ignore_errors=True)
    pages = seed_archive(archive_dir, settings=settings)
    observer.note(f"seeded {pages} recorded pages into the raw archive {archive_dir}")
    database_url = fresh_demo_database(settings)
    observer.note(f"fresh database {DEMO_DATABASE} on the embedded local Postgres")
    observer.note(COVERS)
    demo_env = demo_settings(settings, database_url, archive_dir)

    steps: list[tuple[str, Callable[[], Result]]] = [
        (
            f"backfill {DEMO_DATE} (schedule, boxscores)",
            lambda: backfill(
                BackfillRequest((DEMO_DATE,), sources=("schedule", "boxscores"), offline=True),
                settings=demo_env, progress=observer.backfill_progress(),
            ),
        ),
        (
            "backfill pbp of " + ", ".join(DEMO_PBP_GAMES),
            lambda: backfill(
                BackfillRequest(game_ids=DEMO_PBP_GAMES, sources=("pbp",), offline=True),
                settings=demo_env, progress=observer.backfill_progress(),
            ),
        ),
        (
            "refresh (dbt build)",
            lambda: refresh(RefreshRequest(run_date=DEMO_DATE), settings=demo_env),
        ),
        (f"predict {DEMO_DATE}", lambda: predict(DEMO_DATE, demo_env)),
        ("pbp flag", lambda: _disable_pbp_flag(database_url)),
        (
            f"verify {DEMO_DATE}",
            lambda: verify(VerifyRequest((DEMO_DATE,), DEMO_DATE), settings=demo_env),
        ),
    ]  # fmt: skip
    outcomes, results = run_steps(steps, label="demo", observer=observer)
    if not results[-1].ok:
        return DemoResult(
            results[-1].exit_code,
            f"the demo stopped at {outcomes[-1].name}: {results[-1].message}",
            {"status": "failed", "steps": [o.as_dict() for o in outcomes]},
            database_url=database_url,
        )
    summary = {
        "status": "succeeded",
        "database": DEMO_DATABASE,
        "archive": str(archive_dir),
        "covers": COVERS,
        "steps": [o.as_dict() for o in outcomes],
    }
    return DemoResult(
        EXIT_OK,
        f"backfill -> refresh -> predict -> verify passed offline on recorded pages; {COVERS}. "
        f"Look at the result: psql {display_url(database_url)}",
        summary,
        database_url=database_url,
    )
