"""dbt as a subprocess: which models a source feeds, one build at a time, its results.

    SOURCE_SELECTORS            source -> dbt selection (the one place; backfill --refresh uses it)
    selection_for_sources()     "boxscores,pbp" -> "fact_boxscores+ fact_pbp_data+"
    run_build()                 `dbt build` against the warehouse -> DbtSummary
    refresh()                   `invoke refresh` / nba_elt.refresh -> RefreshResult

The dbt profile (dbt/profiles.yml) reads only environment variables; they are derived here
from the resolved warehouse URL (NBA_ELT_DATABASE_URL or the embedded local Postgres) and set
in the dbt subprocess's environment only. The password goes in DBT_ENV_SECRET_*, which dbt
scrubs from its own logs; it is never printed.
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url

from nba_elt.config import PROJECT_ROOT, Settings, get_settings, scrub
from nba_elt.errors import EXIT_FAILED, EXIT_OK, BadInput, DbtError
from nba_elt.results import Result

if TYPE_CHECKING:
    import datetime as dt

log = logging.getLogger(__name__)

DBT_DIR = PROJECT_ROOT / "dbt"
# One dbt build per warehouse at a time (any machine): a Postgres session advisory lock.
DBT_LOCK_KEY = 0x6E6261_646274  # "nba" "dbt"
LOCK_WAIT_SECONDS = 1800

TONIGHT_SELECTOR = "ml_tonights_games+"
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


@contextmanager
def dbt_output(sink: Callable[[str], None]) -> Iterator[None]:
    """Send every line dbt prints, while in this block, to `sink` (one call per line)."""
    token = _line_sink.set(sink)
    try:
        yield
    finally:
        _line_sink.reset(token)


def _log_line(line: str) -> None:
    log.debug("dbt: %s", line.rstrip())


SOURCE_SELECTORS: dict[str, str] = {
    "schedule": "fact_schedule_data+",
    "boxscores": "fact_boxscores+",
    "pbp": "fact_pbp_data+",
}


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


# ---------------------------------------------------------------- results


@dataclass
class DbtNodeResult:
    name: str
    kind: str  # model, test, unit_test, seed, snapshot
    status: str  # success, pass, warn, fail, error, skipped
    seconds: float
    message: str = ""
    failures: int | None = None
    sql: str = field(default="", repr=False)  # a test's compiled query (compiled_code)


@dataclass
class DbtSummary:
    """What one `dbt build` did, read from target/run_results.json."""

    return_code: int
    elapsed_seconds: float
    selection: str | None
    full_refresh: bool
    nodes: list[DbtNodeResult] = field(default_factory=list)
    dbt_seconds: float | None = None  # dbt's own timer (run_results.json elapsed_time)
    log_path: str | None = None  # dbt's full log of the build (dbt.log)
    process: str = "new process"  # where dbt ran: "dbt server" (warm) or "new process"

    def count(self, kinds: tuple[str, ...], statuses: tuple[str, ...] | None = None) -> int:
        return sum(
            1 for n in self.nodes if n.kind in kinds and (statuses is None or n.status in statuses)
        )

    @property
    def models(self) -> int:
        return self.count(("model",))

    @property
    def tests(self) -> int:
        return self.count(("test", "unit_test"))

    @property
    def tests_passed(self) -> int:
        return self.count(("test", "unit_test"), ("pass",))

    @property
    def passed(self) -> int:
        """Every node that succeeded: models, seeds and tests."""
        return sum(1 for n in self.nodes if n.status in ("success", "pass"))

    @property
    def warned(self) -> list[DbtNodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    @property
    def failed(self) -> list[DbtNodeResult]:
        """Nodes that failed or errored (a failing test, a model whose SQL broke)."""
        return [n for n in self.nodes if n.status in ("fail", "error", "runtime error")]

    @property
    def skipped(self) -> int:
        return sum(1 for n in self.nodes if n.status == "skipped")

    @property
    def ok(self) -> bool:
        return self.return_code == 0 and not self.failed

    def slowest(self, n: int = 5) -> list[DbtNodeResult]:
        return sorted(self.nodes, key=lambda node: node.seconds, reverse=True)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "return_code": self.return_code,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "dbt_seconds": round(self.dbt_seconds, 2) if self.dbt_seconds is not None else None,
            "log_path": self.log_path,
            "process": self.process,
            "selection": self.selection,
            "full_refresh": self.full_refresh,
            "models": self.models,
            "tests": self.tests,
            "tests_passed": self.tests_passed,
            "passed": self.passed,
            "warnings": [n.name for n in self.warned],
            "failures": [
                {"name": n.name, "kind": n.kind, "status": n.status, "message": n.message}
                for n in self.failed
            ],
            "skipped": self.skipped,
            "slowest": [{"name": n.name, "seconds": round(n.seconds, 2)} for n in self.slowest()],
        }


def read_run_results(path: Path) -> list[DbtNodeResult]:
    """The nodes of a dbt run_results.json (unique_id "model.nba_elt.fact_boxscores" ...)."""
    payload = json.loads(path.read_text())
    nodes = []
    for result in payload.get("results", []):
        unique_id = result.get("unique_id", "")
        # model.<project>.<name>, test.<project>.<name>[.<hash>], unit_test.<project>.<model>.<name>
        parts = unique_id.split(".")
        kind = parts[0]
        name = parts[-1] if kind == "unit_test" else (parts[2] if len(parts) > 2 else unique_id)
        nodes.append(
            DbtNodeResult(
                name=name,
                kind=kind,
                status=str(result.get("status", "")).lower(),
                seconds=float(result.get("execution_time") or 0.0),
                message=(result.get("message") or "").strip(),
                failures=result.get("failures"),
                sql=result.get("compiled_code") or "",
            )
        )
    return nodes


RULES_TEST = "column_rules"  # dbt/tests/generic/column_rules.sql


def name_broken_rules(engine: Engine, nodes: Iterable[DbtNodeResult]) -> None:
    """Put the rules a failing or warning column_rules test found broken in its message.

    The test is one node for all of a model's column rules; its query returns (rule,
    bad_rows) for each broken rule, so running it again names them: "broken: opponent not
    null (1 row); Got 1 result, ...". Read only; when the query cannot run, the message stays
    as dbt wrote it.
    """
    for node in nodes:
        if not (
            node.kind == "test"
            and node.name.startswith(RULES_TEST)
            and node.status in ("fail", "warn")
            and node.sql
        ):
            continue
        try:
            with engine.connect() as conn:
                found = conn.exec_driver_sql(
                    f"select rule, bad_rows from ({node.sql}) as found"
                ).all()
        except Exception as exc:  # noqa: BLE001 - the message is a courtesy, never a failure
            log.debug("could not re-run %s to name its rules: %s", node.name, exc)
            continue
        if found:
            rules = ", ".join(f"{r} ({n} row{'' if n == 1 else 's'})" for r, n in found)
            node.message = f"broken: {rules}; {node.message}".rstrip("; ")


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


def target_path(settings: Settings | None = None) -> Path:
    """Where dbt writes target/ (NBA_ELT_DBT_TARGET_PATH, default dbt/target)."""
    return Path((settings or get_settings()).dbt_target_path)


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


# `dbt build` run by this interpreter: dbt's own command line (same flags, output and exit
# codes: 0, 1 when a node failed, 2 when dbt could not run) through dbtRunner, with two
# savings measured in benchmarks/dbt_refresh.py: dbt writes no manifest.json (--no-write-json;
# ~0.45 s a build, nothing here reads it) so run_results.json is written here, from the
# result dbt returns; and the process ends with os._exit once its output is flushed,
# skipping the ~0.5 s teardown of dbt's objects.
_DBT_BUILD = """
import logging, os, sys
from dbt.cli.main import dbtRunner
from nba_elt.transform.dbt_server import invoke_dbt
code, _interrupted = invoke_dbt(dbtRunner, sys.argv[2:], sys.argv[1])
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


def dbt_build_command(results_file: Path) -> list[str]:
    """How to start `dbt build`: this interpreter running _DBT_BUILD when dbt is installed
    beside it, else the `dbt` on PATH (which writes run_results.json itself)."""
    if (Path(sys.executable).parent / "dbt").exists():
        return [sys.executable, "-c", _DBT_BUILD, str(results_file), "--no-write-json"]
    return [dbt_executable()]


def _base_env(url: URL, target: str) -> dict[str, str]:
    env = dict(os.environ)
    # dbt reads the NBA_ELT_DBT_* variables; the URL and the webhook (secrets) stay here
    for secret in ("NBA_ELT_DATABASE_URL", "NBA_ELT_SLACK_WEBHOOK_URL"):
        env.pop(secret, None)
    env.update(profile_env(url, target))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DBT_VERSION_CHECK", "false")
    # No JIT in dbt's sessions: on these tables Postgres spent more compiling a query's
    # expressions (0.4-0.8 s for fact_pbp_data) than the query took (docs/benchmarks.md)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c jit=off".strip()
    return env


def packages_missing(project_dir: Path = DBT_DIR) -> bool:
    """True when packages are declared but dbt_packages/ does not hold them yet."""
    declared = any((project_dir / f).exists() for f in ("packages.yml", "dependencies.yml"))
    installed = project_dir / "dbt_packages"
    return declared and not (installed.is_dir() and any(installed.iterdir()))


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


# The last lines dbt printed: quoted in an error when dbt could not run at all.
_last_lines: deque[str] = deque(maxlen=15)


def _where_output_is(target_dir: Path) -> str:
    """Where to read dbt's output after a failure: its log, and its last lines here."""
    log_file = target_dir.parent / "logs" / "dbt.log"
    return f"dbt's log is {log_file}; its last lines:\n" + "".join(_last_lines)


def _remembered_sink() -> Callable[[str], None]:
    """The dbt_output sink, keeping the last lines for an error message."""
    sink = _line_sink.get() or _log_line
    _last_lines.clear()

    def remember(line: str) -> None:
        _last_lines.append(line)
        sink(line)

    return remember


def _server_socket(settings: Settings) -> Path | None:
    """The warm dbt server's socket for these settings; None when builds run without one
    (NBA_ELT_DBT_SERVER_IDLE=0, dbt not beside this Python, no private socket folder)."""
    if settings.dbt_server_idle <= 0 or not (Path(sys.executable).parent / "dbt").exists():
        return None
    from nba_elt.transform import dbt_server

    return dbt_server.socket_path(target_path(settings), DBT_DIR)


def prestart_dbt_server(settings: Settings) -> None:
    """Start the warm dbt server in the background unless one runs; never waits for it."""
    path = _server_socket(settings)
    if path is None:
        return
    from nba_elt.transform import dbt_server

    dbt_server.start_in_background(
        path, settings.dbt_server_idle, target_path(settings).parent / "logs" / "dbt_server.log"
    )


def _build_in_server(
    dbt_args: list[str], env: Mapping[str, str], results_file: Path, settings: Settings
) -> int | None:
    """`dbt build` in the warm dbt server (nba_elt/transform/dbt_server.py); its exit code,
    or None when there is no server to use (NBA_ELT_DBT_SERVER_IDLE=0, dbt not beside this
    Python, no private socket folder, or the server did not start)."""
    path = _server_socket(settings)
    if path is None:
        return None
    from nba_elt.transform import dbt_server

    target_dir = results_file.parent
    log.debug("dbt build in the dbt server at %s", path)
    return dbt_server.build(
        ["--no-write-json", *dbt_args],
        env,
        DBT_DIR,
        results_file,
        path,
        settings.dbt_server_idle,
        _remembered_sink(),
        target_dir.parent / "logs" / "dbt_server.log",
    )


def _stream(argv: list[str], env: Mapping[str, str], cwd: Path) -> int:
    """Run argv, handing its output line by line to the dbt_output sink; its return code."""
    log.debug("running %s", " ".join(argv))
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
    except FileNotFoundError:
        raise DbtError(
            "the dbt command was not found; install the project (pip install -e .) "
            "so dbt-core and dbt-postgres are in the same environment"
        ) from None
    assert proc.stdout is not None
    sink = _remembered_sink()
    for line in proc.stdout:
        sink(line)
    return proc.wait()


def run_build(
    select: str | None = None,
    full_refresh: bool = False,
    vars: Mapping[str, Any] | None = None,
    *,
    run_date: dt.date | str | None = None,
    unit_tests: bool = False,
    tests_since: dt.datetime | None = None,
    settings: Settings | None = None,
) -> DbtSummary:
    """`dbt build` against the warehouse; the summary of run_results.json.

    ``run_date`` reaches dbt as NBA_ELT_RUN_DATE (macros/run_date.sql), not as --vars: a
    new --vars value makes dbt re-parse the whole project; the variable does not. dbt's
    unit tests (fixed inputs, they check the SQL, not the data) run only with
    ``unit_tests=True``: the test suite runs them (tests/integration/test_dbt_build.py), a
    refresh leaves them out, as dbt's docs recommend for production builds. With
    ``tests_since`` (not with ``full_refresh``), the facts' data tests look only at the games
    with a row loaded since then (NBA_ELT_DBT_TESTS_SINCE, dbt/macros/tested_rows.sql). Raises
    DbtError when dbt could not run at all (no run_results). A build that ran with
    failing tests returns a summary whose `ok` is False.
    """
    from nba_elt.warehouse.db import get_engine

    settings = settings or get_settings()
    engine = get_engine(settings)
    target_dir = target_path(settings)
    env = _base_env(engine.url, settings.target)
    if run_date is not None:
        env[RUN_DATE_ENV] = str(run_date.isoformat() if isinstance(run_date, dt.date) else run_date)
    env.pop(TESTS_SINCE_ENV, None)
    if tests_since is not None and not full_refresh:
        env[TESTS_SINCE_ENV] = tests_since.isoformat()
    common = [
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(target_dir), "--log-path", str(target_dir.parent / "logs"),
    ]  # fmt: skip
    colours = [] if sys.stderr.isatty() else ["--no-use-colors"]
    results_file = target_dir / "run_results.json"
    dbt_args = [*colours, "--log-level-file", DBT_FILE_LOG_LEVEL, "build", *common]
    dbt_args += ["--target", settings.target, "--threads", str(DBT_THREADS)]
    if select:
        dbt_args += ["--select", *select.split()]
    if full_refresh:
        dbt_args.append("--full-refresh")
    if not unit_tests:
        dbt_args += ["--exclude-resource-type", "unit_test"]
    if vars:
        dbt_args += ["--vars", json.dumps(dict(vars), default=str)]

    with build_lock(engine, target_dir):
        if packages_missing():
            log.info("dbt packages are declared but not installed: running dbt deps")
            if _stream([dbt_executable(), "deps", *common], env, DBT_DIR) != 0:
                raise DbtError(f"dbt deps failed; {_where_output_is(target_dir)}")
        results_file.unlink(missing_ok=True)
        started = time.monotonic()
        code = _build_in_server(dbt_args, env, results_file, settings)
        process = "dbt server" if code is not None else "new process"
        if code is None:
            code = _stream([*dbt_build_command(results_file), *dbt_args], env, DBT_DIR)
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
        process=process,
    )


# ---------------------------------------------------------------- invoke refresh


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
    env = _base_env(make_url(resolve_url(settings)), settings.target)
    target_dir = target_path()
    common = [
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(target_dir), "--log-path", str(target_dir.parent / "logs"),
    ]  # fmt: skip
    if packages_missing() and _stream([dbt_executable(), "deps", *common], env, DBT_DIR) != 0:
        raise DbtError("dbt deps failed; see its output above")
    argv = [dbt_executable(), "--quiet", "--no-use-colors", "ls", *common,
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


@dataclass
class RefreshResult(Result):
    """What `refresh` built: the dbt summary (None if dbt never ran), the run date, the selection."""

    dbt: DbtSummary | None = None
    run_date: dt.date | None = None
    selection: str | None = None
    refresh_run_id: int | None = None


def refresh(
    sources: str | Iterable[str] | None = None,
    select: str | None = None,
    full: bool = False,
    run_date: str | dt.date | None = None,
    *,
    settings: Settings | None = None,
) -> RefreshResult:
    """`invoke refresh`: dbt build of what changed (or of --sources / --select / --full)."""
    from nba_elt.dates import parse_date, today_eastern
    from nba_elt.transform import ledger as refresh_ledger
    from nba_elt.warehouse.db import get_engine

    day = (
        parse_date(str(run_date), flag="--run-date", allow_future=True)
        if run_date
        else today_eastern()
    )
    source_list: list[str] = []
    if sources:
        if isinstance(sources, str):
            sources = sources.split(",")
        source_list = [s.strip() for s in sources if s.strip()]
    selections = [selection_for_sources(source_list)] if source_list else []
    settings = settings or get_settings()
    if select and select.strip():
        check_selection(select.strip(), settings)  # BadInput before anything is written
        selections.append(select.strip())
    engine = get_engine(settings)
    explicit_select = bool(selections) and not source_list
    tests_since: dt.datetime | None = None
    if not full and (source_list or not selections) and not refresh_ledger.any_succeeded(engine):
        # `fact_x+` needs the staging views and seeds of an earlier build
        log.info("no successful refresh on record: building everything once")
        selections = []
    elif not full and not explicit_select:
        if not selections:
            changed = refresh_ledger.changed_sources(engine) or []
            if changed:
                source_list = changed
                selections.append(selection_for_sources(changed))
                log.info("changed since the last refresh: %s", ", ".join(changed))
            else:
                log.info("nothing changed in nba_source since the last refresh")
        # Tonight's features depend on the run date as well as on the data: a build chosen
        # by source always rebuilds them, so that `invoke predict` finds them for that date.
        # An explicit --select (or --full) is built exactly as given.
        selections.append(TONIGHT_SELECTOR)
        # The facts' tests look at the games loaded since their rows were last all tested;
        # --full and an explicit --select test every row.
        tests_since = refresh_ledger.tested_since(engine)
    selection = " ".join(selections) or None
    run_id = refresh_ledger.start(engine, source_list, selection, full, day, settings.target)
    summary: DbtSummary | None = None
    try:
        summary = run_build(
            selection, full_refresh=full, run_date=day, tests_since=tests_since, settings=settings
        )
    finally:
        refresh_ledger.finish(engine, run_id, summary)
    payload = {"status": "succeeded" if summary.ok else "failed", "run_date": day.isoformat(),
               "refresh_run_id": run_id, **summary.to_dict(),
               "tests_since": tests_since.isoformat() if tests_since else None}  # fmt: skip
    what = selection or "everything"
    built = {"dbt": summary, "run_date": day, "selection": selection, "refresh_run_id": run_id}
    if summary.ok:
        warn = f", {len(summary.warned)} warning(s)" if summary.warned else ""
        message = (
            f"dbt build of {what}{' (full refresh)' if full else ''}: {summary.models} models, "
            f"{summary.tests_passed} of {summary.tests} tests passed{warn} "
            f"in {summary.elapsed_seconds:.1f} s"
        )
        return RefreshResult(EXIT_OK, message, payload, **built)
    names = ", ".join(n.name for n in summary.failed) or f"dbt exit code {summary.return_code}"
    message = (
        f"dbt build of {what} failed: {names}. Fix the data (e.g. `invoke backfill --force` the "
        "dates involved) or the model, then `invoke refresh` again"
    )
    return RefreshResult(EXIT_FAILED, message, payload, **built)
