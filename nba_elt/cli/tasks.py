"""The tasks of `nba-elt` (the console script) and of `invoke` in the repository (tasks.py).

Each hands one task function of nba_elt.cli.commands to run_task. A task's signature is
the flag list Invoke needs: `task_flags(locals())` passes the flags on as keywords (and,
with --docker, onto the command line in the container); the operation's request type
validates them.
`nba-elt --list` shows the tasks; `nba-elt <task> --help` documents every flag.
"""

from __future__ import annotations

from invoke import Collection

from nba_elt.cli import commands, run_task, task_flags
from nba_elt.cli.invoke_task import COMMON_HELP, task

PROVIDER_HELP = (
    "bbref (basketball-reference), nba (the NBA's JSON) or auto (default: bbref, and the "
    "NBA for what is left when basketball-reference stops the run)"
)


@task(
    help={
        "date": "one date, YYYY-MM-DD",
        "start": "first date of a range, YYYY-MM-DD",
        "end": "last date of a range (inclusive), YYYY-MM-DD",
        "games": "comma-separated game ids, e.g. 201901010DEN or the NBA's 0022200552",
        "sources": "comma-separated sources (default: those enabled in nba_source.feature_flags)",
        "dry_run": "print the plan and write nothing",
        "resume": "re-run the units of this run id that did not succeed",
        "offline": "read pages only from the raw archive; never touch the network",
        "force": "re-run units that are already complete and final",
        "refresh": "after a successful backfill, run the dbt refresh for what it touched",
        "predict": "after --refresh, re-run predictions for the dates touched",
        "yes": "allow a range longer than NBA_ELT_MAX_BACKFILL_DAYS",
        "provider": PROVIDER_HELP,
    }
)
def backfill(
    c,
    date=None,
    start=None,
    end=None,
    games=None,
    sources=None,
    dry_run=False,
    resume=None,
    offline=False,
    force=False,
    refresh=False,
    predict=False,
    yes=False,
    provider=None,
    verbose=False,
    json=False,
    docker=False,
):
    """Re-ingest chosen sources for dates or games, unit by unit, into nba_source."""
    run_task("backfill", commands.backfill_task, **task_flags(locals()))


@task(
    help={
        "sources": "refresh what these sources feed, e.g. boxscores,pbp",
        "select": "a dbt selection, e.g. 'fact_schedule_data+'",
        "full": "dbt build --full-refresh (of everything unless --select/--sources)",
        "run_date": "the date ml_tonights_games is built for (default: today, US Eastern)",
    }
)
def refresh(
    c, sources=None, select=None, full=False, run_date=None, verbose=False, json=False, docker=False
):
    """dbt build of what the last backfill touched (+ downstream); --full rebuilds all."""
    run_task("refresh", commands.refresh_task, **task_flags(locals()))


@task(
    help={
        "date": "the game date to predict (default: today, US Eastern)",
        "verbose": COMMON_HELP["verbose"] + "; predict builds missing or stale features with dbt",
    }
)
def predict(c, date=None, verbose=False, json=False, docker=False):
    """Predict the date's games into ml_models.ml_game_predictions."""
    run_task("predict", commands.predict_task, **task_flags(locals()))


@task(
    help={
        "train_seasons": "comma-separated seasons to fit on (season = year it ends), e.g. 2023",
        "test_season": "season to evaluate on, e.g. 2024",
        "activate": "make the new model the one predict uses (default: keep it as a candidate)",
        "min_games": "fit even on fewer games than the safe minimum of 200 (give the count)",
        "output": "write the model to exactly this file instead (e.g. ml/models/current.json)",
    }
)
def train(
    c,
    train_seasons=None,
    test_season=None,
    activate=False,
    min_games=None,
    output=None,
    json=False,
    docker=False,
):
    """Fit the game-winner model on ml_models.ml_past_games; compare it with the active one."""
    run_task("train", commands.train_task, **task_flags(locals()))


@task(help={"activate": "the model predict should use: shipped, candidate or a version (prefix)"})
def model(c, activate=None, json=False, docker=False):
    """List the models (shipped, active, candidate, trained before); --activate switches."""
    run_task("model", commands.model_task, **task_flags(locals()))


@task(
    help={
        "date": "the date to check (default: yesterday, US Eastern)",
        "start": "first date of a range",
        "end": "last date of a range (inclusive)",
        "run_date": "the date whose predictions to check (default: today, US Eastern)",
        "cross_provider": "compare basketball-reference's and the NBA's final scores and team "
        "points for --date's games, listing every disagreement",
    }
)
def verify(
    c, date=None, start=None, end=None, run_date=None, cross_provider=False, json=False,
    docker=False,
):  # fmt: skip
    """Check that the day is complete and consistent, from nba_source to predictions."""
    run_task("verify", commands.verify_task, **task_flags(locals()))


@task(
    name="reboot-dashboard",
    help={
        "mode": "force-deployment (default) or stop-task (the old runbook's way)",
        "cluster": "ECS cluster (default: NBA_ELT_ECS_CLUSTER)",
        "service": "ECS service (default: NBA_ELT_ECS_SERVICE)",
        "region": "AWS region (default: AWS_REGION)",
        "dry_run": "print the AWS calls it would make and make none",
        "timeout": "seconds to wait for the service to become stable (default: 600)",
    },
)
def reboot_dashboard(
    c,
    mode="force-deployment",
    cluster=None,
    service=None,
    region=None,
    dry_run=False,
    timeout=None,
    json=False,
    docker=False,
):
    """Restart the dashboard's ECS service so it re-reads the marts."""
    run_task("reboot-dashboard", commands.reboot_task, **task_flags(locals()))


@task(
    help={
        "season": "season to scan (the year it ends, e.g. 2025)",
        "start": "first date of a range",
        "end": "last date of a range (inclusive)",
        "fix": "run the backfill for exactly the missing units",
        "offline": "with --fix: read pages only from the raw archive",
        "provider": "with --fix: " + PROVIDER_HELP,
    }
)
def gaps(
    c, season=None, start=None, end=None, fix=False, offline=False, provider=None, json=False,
    docker=False,
):  # fmt: skip
    """List final games whose box scores or pbp are missing; --fix backfills them."""
    run_task("gaps", commands.gaps_task, **task_flags(locals()))


@task(
    help={
        "date": "the date to ingest (default: yesterday, US Eastern)",
        "no_reboot": "do not restart the dashboard at the end",
        "offline": "read pages only from the raw archive",
        "provider": PROVIDER_HELP,
    }
)
def daily(
    c, date=None, no_reboot=False, offline=False, provider=None, verbose=False, json=False,
    docker=False,
):  # fmt: skip
    """The morning pipeline: backfill, refresh, predict, verify, reboot, one alert."""
    run_task("daily", commands.daily_task, **task_flags(locals()))


@task
def demo(c, verbose=False, json=False, docker=False):
    """Replay recorded real pages through backfill, refresh, predict, verify, offline."""
    run_task("demo", commands.demo_task, **task_flags(locals()))


@task(
    help={
        "enable": "comma-separated flags to switch on, e.g. pbp",
        "disable": "comma-separated flags to switch off, e.g. pbp",
    }
)
def flags(c, enable=None, disable=None, json=False, docker=False):
    """Show nba_source.feature_flags (the sources daily ingests); --enable / --disable set them."""
    run_task("flags", commands.flags_task, **task_flags(locals()))


@task(name="up")
def db_up(c, json=False, docker=False):
    """Start the embedded local Postgres (harmless when it runs)."""
    run_task("db.up", commands.up_task, **task_flags(locals()))


@task(name="down")
def db_down(c, json=False, docker=False):
    """Stop the embedded local Postgres."""
    run_task("db.down", commands.down_task, **task_flags(locals()))


@task(name="status")
def db_status(c, json=False, docker=False):
    """Connect to the warehouse: server version, migration level, pending migrations."""
    run_task("db.status", commands.status_task, **task_flags(locals()))


@task(name="migrate")
def db_migrate(c, json=False, docker=False):
    """Create or upgrade the nba_source and ops schemas (idempotent)."""
    run_task("db.migrate", commands.migrate_task, **task_flags(locals()))


db = Collection("db", db_up, db_down, db_status, db_migrate)
TASKS = (
    backfill, refresh, predict, train, model, verify, reboot_dashboard, gaps, daily, flags, demo,
)  # fmt: skip
ns = Collection(*TASKS, db)
