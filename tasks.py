"""`invoke <task>` in the repository: the tasks of `nba-elt` (nba_elt/cli/tasks.py) and the
tasks that need this checkout (test, bench, lock, dagster, docker.*)."""

from __future__ import annotations

from invoke import Collection, Program

from nba_elt.cli import run_task, task_flags
from nba_elt.cli.docker import docker_tasks
from nba_elt.cli.invoke_task import task
from nba_elt.cli.program import keep_the_contract
from nba_elt.cli.selftest import test_task
from nba_elt.cli.tasks import TASKS, db

# invoke's own parser: a mistyped flag or a missing value is bad input (exit 2, JSON line)
keep_the_contract(Program)


@task(
    help={
        "fast": "skip the tests marked slow (dbt builds, long end-to-end runs) or docker: under 3 minutes",
    }
)
def test(c, fast=False, json=False, docker=False):
    """Run the README's test command: ruff check, ruff format --check, pytest."""
    run_task("test", test_task, **task_flags(locals()))


BENCHMARKS = ("pbp_reingest", "upsert", "dbt_refresh")


@task(
    help={
        "only": "comma-separated benchmarks to run (default: all): " + ", ".join(BENCHMARKS),
        "quick": "smaller volumes and one round: a smoke run, not figures for docs/benchmarks.md",
    }
)
def bench(c, only=None, quick=False):
    """Run the benchmarks (benchmarks/*.py), each printing the ratio it is judged on."""
    import sys

    chosen = [b.strip() for b in only.split(",")] if only else list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"bench: unknown benchmark(s) {', '.join(unknown)}; choose from "
              f"{', '.join(BENCHMARKS)}", file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    small = {
        "pbp_reingest": "--games 60 --rounds 1",
        "upsert": "--rows 100000 --rounds 1 --skip-to-sql",
        "dbt_refresh": "--rounds 1",
    }
    for name in chosen:
        extra = small[name] if quick else ""
        print(f"== benchmarks/{name}.py {extra}".rstrip(), flush=True)
        c.run(f"{sys.executable} -m benchmarks.{name} {extra}".rstrip(), pty=False)


@task(help={"upgrade": "move every pin to the newest version pyproject.toml allows"})
def lock(c, upgrade=False):
    """Re-lock after editing pyproject.toml: uv.lock, and requirements/<extra>.txt from it."""
    import tomllib

    with open("pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    c.run("uv lock --upgrade" if upgrade else "uv lock")
    for extra in ("", *extras):
        flag = f"--extra {extra} " if extra else ""
        c.run(
            f"uv export --quiet --frozen --no-emit-project {flag}-o requirements/{extra or 'base'}.txt"
        )


@task(help={"port": "the web UI's port (default 3000)", "host": "the address it listens on"})
def dagster(c, port=3000, host="127.0.0.1"):
    """Serve Dagster's UI and daemon on nba-elt's assets (dagster dev).

    Needs the `dagster` extra. The warehouse is the embedded Postgres unless
    NBA_ELT_DATABASE_URL is set; Dagster's own storage is .nba_elt/dagster (docs/orchestration.md).
    """
    from nba_elt.orchestration.dev import serve

    raise SystemExit(serve(port=int(port), host=host))


ns = Collection(*TASKS, test, bench, lock, dagster, db, docker_tasks)
