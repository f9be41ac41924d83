"""`dbt build` against the warehouse, one at a time: in a new process, or in this one.

    run_build()        `dbt build` -> DbtSummary (what refresh runs)
    check_selection()  an operator's --select, checked with `dbt ls` before anything runs
    dbt_output(sink)   where dbt's output lines go while in the block

The dbt profile (dbt/profiles.yml) reads only environment variables; they are derived here
from the resolved warehouse URL (NBA_ELT_DATABASE_URL or the embedded local Postgres) and
given to dbt only. The password goes in DBT_ENV_SECRET_*, which dbt scrubs from its own
logs; it is never printed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url

from nba_elt.config import PROJECT_ROOT, SECRET_ENV_NAMES, Settings, get_settings, scrub
from nba_elt.errors import BadInput, DbtError
from nba_elt.transform import dbt_runner
from nba_elt.transform.summary import DbtSummary, name_broken_rules, read_run_results

log = logging.getLogger(__name__)

DBT_DIR = PROJECT_ROOT / "dbt"
# One dbt build per warehouse at a time (any machine): a Postgres session advisory lock.
DBT_LOCK_KEY = 0x6E6261_646274  # "nba" "dbt"
LOCK_WAIT_SECONDS = 1800

RUN_DATE_ENV = "NBA_ELT_RUN_DATE"  # read by dbt/macros/run_date.sql when dbt executes
TESTS_SINCE_ENV = "NBA_ELT_DBT_TESTS_SINCE"  # read by dbt/macros/tested_rows.sql likewise
# Chosen by measurement (benchmarks/dbt_refresh.py, docs/benchmarks.md): the models wait on
# Postgres more than on dbt, so more threads than cores still help; dbt's file log at
# debug writes ~10k lines a build.
DBT_THREADS = 8
DBT_FILE_LOG_LEVEL = "info"

# Where dbt's own output lines go: the CLI shows progress / streams them (--verbose); the
# library alone logs them at DEBUG. dbt's full log is always in DbtSummary.log_path.
_line_sink: ContextVar[Callable[[str], None] | None] = ContextVar("dbt_line_sink", default=None)
# The last lines dbt printed: quoted in an error when dbt could not run at all.
_last_lines: deque[str] = deque(maxlen=15)


@contextmanager
def dbt_output(sink: Callable[[str], None]) -> Iterator[None]:
    """Send every line dbt prints, while in this block, to `sink` (one call per line)."""
    token = _line_sink.set(sink)
    try:
        yield
    finally:
        _line_sink.reset(token)


def _sink() -> Callable[[str], None]:
    """The dbt_output sink (DEBUG log by default), keeping the last lines for an error."""
    sink = _line_sink.get() or (lambda line: log.debug("dbt: %s", line.rstrip()))
    _last_lines.clear()

    def remember(line: str) -> None:
        _last_lines.append(line)
        sink(line)

    return remember


def _where_output_is(target_dir: Path) -> str:
    log_file = target_dir.parent / "logs" / "dbt.log"
    return f"dbt's log is {log_file}; its last lines:\n" + "".join(_last_lines)


# ---------------------------------------------------------------- environment


def profile_env(url: URL, target: str) -> dict[str, str]:
    """The variables dbt/profiles.yml reads, from a SQLAlchemy URL (password included)."""
    query = dict(url.query)
    host = url.host or query.get("host") or "127.0.0.1"
    env = {
        "NBA_ELT_TARGET": target,
        "NBA_ELT_DBT_HOST": str(host),
        "NBA_ELT_DBT_PORT": str(url.port or query.get("port") or 5432),
        "NBA_ELT_DBT_USER": url.username or "postgres",
        "NBA_ELT_DBT_DBNAME": url.database or "postgres",
        # DBT_ENV_SECRET_*: dbt scrubs the value from its logs and target/ files
        "DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD": url.password or str(query.get("password") or ""),
    }
    if query.get("sslmode"):
        env["NBA_ELT_DBT_SSLMODE"] = str(query["sslmode"])
    return env


def dbt_env(url: URL, target: str) -> dict[str, str]:
    """The environment dbt runs with: this one, minus every secret setting (and its
    ``_FILE`` form), plus the profile's variables."""
    env = dict(os.environ)
    for secret in SECRET_ENV_NAMES:
        env.pop(secret, None)
        env.pop(f"{secret}_FILE", None)
    env.update(profile_env(url, target))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DBT_VERSION_CHECK", "false")
    # No JIT in dbt's sessions: on these tables Postgres spent more compiling a query's
    # expressions (0.4-0.8 s for fact_pbp_data) than the query took (docs/benchmarks.md)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c jit=off".strip()
    return env


def target_path(settings: Settings | None = None) -> Path:
    """Where dbt writes target/ (NBA_ELT_DBT_TARGET_PATH, default dbt/target)."""
    return Path((settings or get_settings()).dbt_target_path)


def _paths(target_dir: Path) -> list[str]:
    return [
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(target_dir), "--log-path", str(target_dir.parent / "logs"),
    ]  # fmt: skip


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def packages_missing(project_dir: Path = DBT_DIR) -> bool:
    """True when packages are declared but dbt_packages/ does not hold them yet."""
    declared = any((project_dir / f).exists() for f in ("packages.yml", "dependencies.yml"))
    installed = project_dir / "dbt_packages"
    return declared and not (installed.is_dir() and any(installed.iterdir()))


def _deps(env: Mapping[str, str], target_dir: Path) -> None:
    if packages_missing():
        log.info("dbt packages are declared but not installed: running dbt deps")
        if _stream([dbt_executable(), "deps", *_paths(target_dir)], env) != 0:
            raise DbtError(f"dbt deps failed; {_where_output_is(target_dir)}")


# ---------------------------------------------------------------- locking


@contextmanager
def build_lock(engine: Engine, target_dir: Path) -> Iterator[None]:
    """One dbt at a time: a file lock on the target dir, and an advisory lock in Postgres."""
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".nba_elt_dbt.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another dbt run uses %s; waiting for it to finish", target_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        with engine.connect() as conn:
            got = conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": DBT_LOCK_KEY})
            if not got.scalar():
                log.info("another dbt build runs against this warehouse; waiting for it")
                conn.execute(text("set statement_timeout = :ms"), {"ms": LOCK_WAIT_SECONDS * 1000})
                try:
                    conn.execute(text("select pg_advisory_lock(:k)"), {"k": DBT_LOCK_KEY})
                except Exception as exc:  # noqa: BLE001 - a timeout is the expected one
                    raise DbtError(
                        f"another dbt build held the warehouse lock for {LOCK_WAIT_SECONDS} s; "
                        "check for a stuck `invoke refresh` and retry"
                    ) from exc
                conn.execute(text("set statement_timeout = 0"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("select pg_advisory_unlock(:k)"), {"k": DBT_LOCK_KEY})
                conn.commit()


# ---------------------------------------------------------------- running


def _stream(argv: list[str], env: Mapping[str, str]) -> int:
    """Run argv in dbt/, handing its output line by line to the dbt_output sink; its code."""
    log.debug("running %s", " ".join(argv))
    try:
        proc = subprocess.Popen(
            argv, cwd=DBT_DIR, env=dict(env), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
    except FileNotFoundError:
        raise DbtError(
            "the dbt command was not found; install the project (pip install -e .) "
            "so dbt-core and dbt-postgres are in the same environment"
        ) from None
    assert proc.stdout is not None
    sink = _sink()
    for line in proc.stdout:
        sink(line)
    return proc.wait()


def _new_process_command(results_file: Path) -> list[str]:
    """How to start `dbt build` in a new process: this interpreter running dbt's runner
    (nba_elt/transform/dbt_runner.py) when dbt is installed beside it, else the `dbt` on
    PATH (which writes run_results.json itself)."""
    if (Path(sys.executable).parent / "dbt").exists():
        script = dbt_runner.NEW_PROCESS_SCRIPT
        return [sys.executable, "-c", script, str(results_file), "--no-write-json"]
    return [dbt_executable()]


def _build_args(
    select: str | None,
    full_refresh: bool,
    vars: Mapping[str, Any] | None,
    unit_tests: bool,
    target_dir: Path,
    target: str,
) -> list[str]:
    colours = [] if sys.stderr.isatty() else ["--no-use-colors"]
    args = [*colours, "--log-level-file", DBT_FILE_LOG_LEVEL, "build", *_paths(target_dir)]
    args += ["--target", target, "--threads", str(DBT_THREADS)]
    if select:
        args += ["--select", *select.split()]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if vars:
        args += ["--vars", json.dumps(dict(vars), default=str)]
    return args


def run_build(
    select: str | None = None,
    full_refresh: bool = False,
    vars: Mapping[str, Any] | None = None,
    *,
    run_date: dt.date | str | None = None,
    unit_tests: bool = False,
    tests_since: dt.datetime | None = None,
    in_process: bool = False,
    settings: Settings | None = None,
) -> DbtSummary:
    """`dbt build` against the warehouse; the summary of run_results.json.

    dbt runs in a new process, or with ``in_process=True`` in this one (dbt's dbtRunner,
    one build at a time: for a long-lived caller that has imported dbt once); the flags,
    output, exit codes and run_results are the same either way.

    ``run_date`` reaches dbt as NBA_ELT_RUN_DATE (macros/run_date.sql), not as --vars: a
    new --vars value makes dbt re-parse the whole project; the variable does not. dbt's
    unit tests (fixed inputs, they check the SQL, not the data) run only with
    ``unit_tests=True``: the test suite runs them, a refresh leaves them out, as dbt's docs
    recommend for production builds. With ``tests_since`` (not with ``full_refresh``), the
    facts' data tests look only at the games with a row loaded since then
    (NBA_ELT_DBT_TESTS_SINCE, dbt/macros/tested_rows.sql). Raises DbtError when dbt could
    not run at all (no run_results). A build whose tests failed returns a summary whose
    `ok` is False.
    """
    from nba_elt.warehouse.db import get_engine

    settings = settings or get_settings()
    engine = get_engine(settings)
    target_dir = target_path(settings)
    env = dbt_env(engine.url, settings.target)
    if run_date is not None:
        env[RUN_DATE_ENV] = str(run_date.isoformat() if isinstance(run_date, dt.date) else run_date)
    env.pop(TESTS_SINCE_ENV, None)
    if tests_since is not None and not full_refresh:
        env[TESTS_SINCE_ENV] = tests_since.isoformat()
    args = _build_args(select, full_refresh, vars, unit_tests, target_dir, settings.target)
    results_file = target_dir / "run_results.json"

    with build_lock(engine, target_dir):
        _deps(env, target_dir)
        results_file.unlink(missing_ok=True)
        started = time.monotonic()
        if in_process:
            code = dbt_runner.build(["--no-write-json", *args], env, results_file, _sink())
        else:
            code = _stream([*_new_process_command(results_file), *args], env)
        elapsed = time.monotonic() - started
        # read while still holding the lock: the next dbt run replaces the file
        if not results_file.exists():
            raise DbtError(
                f"dbt build exited with code {code} before running anything (no "
                "run_results.json): a YAML/SQL error in dbt/ or no connection to the "
                f"warehouse; {_where_output_is(target_dir)}"
            )
        nodes = read_run_results(results_file)
        dbt_seconds = json.loads(results_file.read_text()).get("elapsed_time")
    name_broken_rules(engine, nodes)
    return DbtSummary(
        return_code=code,
        elapsed_seconds=elapsed,
        selection=select,
        full_refresh=full_refresh,
        nodes=nodes,
        dbt_seconds=dbt_seconds,
        log_path=str(target_dir.parent / "logs" / "dbt.log"),
        process="in process" if in_process else "new process",
    )


def check_selection(select: str, settings: Settings) -> list[str]:
    """The dbt nodes an operator's --select matches (``dbt ls``); BadInput (exit 2) when it
    starts a flag, is not a valid selection, or matches nothing. Nothing is written."""
    from nba_elt.warehouse.db import resolve_url

    tokens = select.split()
    flags = [t for t in tokens if t.startswith("-")]
    if flags:
        raise BadInput(
            f"--select {flags[0]!r} starts with '-': it would be read as a dbt flag; give "
            "model names, tags or paths only"
        )
    env = dbt_env(make_url(resolve_url(settings)), settings.target)
    target_dir = target_path(settings)
    _deps(env, target_dir)
    argv = [dbt_executable(), "--quiet", "--no-use-colors", "ls", *_paths(target_dir),
            "--target", settings.target, "--output", "name", "--select", *tokens]  # fmt: skip
    try:
        proc = subprocess.run(
            argv, env=env, cwd=DBT_DIR, capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        raise DbtError("dbt ls did not answer within 10 minutes") from None
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0:
        detail = (lines or proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadInput(f"--select {select!r} is not a valid dbt selection: {scrub(detail)}")
    if not lines:
        raise BadInput(
            f"--select {select!r} matches no dbt model, seed, snapshot or test "
            "(see `dbt ls` in dbt/); nothing was run"
        )
    return lines
