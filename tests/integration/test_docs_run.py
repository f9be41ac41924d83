"""Every command and SQL block of README.md and docs/*.md runs (tests/doc_commands.py finds them).

- Every command parses: its task and flags exist and its values have the flags' types
  (Invoke's own parser, in process: a refused command is the exit-2 `bad_input` the operator
  would see). A synopsis line (`[--date D | ...]`) only has its flags checked.
- The commands of RUN run for real, `invoke` in a subprocess, against the test Postgres and
  the local copy of the site (tests/recorded_site.py); each must give its expected exit code.
  Every other command is parse-checked only, for the reason PARSE_ONLY gives.
- Every ```sql block runs on the demo's database (slow: the demo builds it with dbt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Exit, Program
from sqlalchemy import create_engine, text

from tests.conftest import use_only_this_cluster
from tests.doc_commands import (
    ROOT,
    DocCommand,
    doc_commands,
    fenced_blocks,
    indented_python_blocks,
    sql_blocks,
)
from tests.integration.test_backfill_cli import _env
from tests.recorded_site import NBA_PAGES, RecordedSite

COMMANDS = doc_commands()

# the commands run for real: doc command -> expected exit code
RUN = {
    "invoke backfill --date 2025-03-16 --sources boxscores,pbp --dry-run": 0,
    "invoke backfill --start 2025-03-01 --end 2025-03-16 --dry-run": 0,
    "invoke backfill --games 201810160GSW,201901010DEN --sources pbp": 0,
    "invoke backfill --games 0022200552 --provider nba": 0,
    "invoke gaps --start 2025-03-01 --end 2025-03-16 --fix --offline": 0,
    "invoke db.migrate --json": 0,
    "invoke db.status --json": 0,
    "invoke model": 0,
    "invoke model --activate shipped": 0,
    "nba-elt model": 0,
    "python -m nba_elt db.status --json": 0,
}
# slow: on the demo's database (test_sql_blocks_run_on_the_demo_database)
RUN_ON_DEMO = {
    "invoke verify --date 2018-01-01 --run-date 2018-01-01": 0,
    "invoke refresh --run-date 2018-01-15": 0,  # after verify: it rebuilds tonight's games
}


def _reason(command: DocCommand) -> str | None:
    """Why a command is parse-checked only (None: it runs)."""
    args = " ".join(command.args)
    if command.text in RUN or command.text in RUN_ON_DEMO:
        return None
    if command.synopsis:
        return "a synopsis: its flags are checked"
    if "--docker" in command.args or command.task.startswith("docker."):
        return "Docker: builds an image (tests/docker covers it)"
    if command.task in ("test", "bench", "lock", "dagster"):
        return "a developer task: runs the suite, the benchmarks, uv or a server"
    if command.task == "demo":
        return "the demo runs in the slow test below (and tests/integration/test_demo.py)"
    if command.task in ("backfill", "gaps", "daily") and "--offline" not in command.args:
        return "the live site, on dates the recorded pages do not have"
    if "--resume" in command.args or "logreg-2023-1a2b" in args:
        return "names a run or model version of the operator's own ledger"
    if command.task in ("refresh", "predict", "train", "verify", "reboot-dashboard"):
        return "a dbt build, a model fit on seasons of data, or AWS: covered by their own tests"
    if command.task == "model":
        return "needs a candidate model (tests/integration/test_ml_pipeline.py)"
    return "not classified"  # fails test_every_command_is_run_or_has_a_reason


def _collection(binary: str):
    if binary == "invoke":
        sys.path.insert(0, str(ROOT))
        from tasks import ns
    else:
        from nba_elt.cli.tasks import ns
    return ns


def _parse(command: DocCommand, capsys) -> Program:
    program = Program(namespace=_collection(command.binary), name=command.binary)
    program.create_config()
    args = command.args[:1] if command.synopsis else command.args  # a synopsis: the task alone
    try:
        program.parse_core([command.binary, *args])
        program.parse_collection()
        program.parse_tasks()
    except Exit as exc:
        pytest.fail(f"{command.id}: `{command.text}` is refused (exit {exc.code}): "
                    f"{capsys.readouterr().out.strip()}")  # fmt: skip
    return program


def _request_type(task: str) -> type | None:
    """The request type that validates a task's values (the operations' from_flags)."""
    from ml.app import PredictRequest
    from ml.train import TrainRequest
    from nba_elt.checks.gaps import GapsRequest
    from nba_elt.checks.verify import VerifyRequest
    from nba_elt.ingest.request import BackfillRequest
    from nba_elt.ops.dashboard import RebootRequest
    from nba_elt.pipelines.daily import DailyRequest
    from nba_elt.transform.dbt import RefreshRequest

    return {
        "backfill": BackfillRequest, "refresh": RefreshRequest, "predict": PredictRequest,
        "verify": VerifyRequest, "reboot-dashboard": RebootRequest, "daily": DailyRequest,
        "gaps": GapsRequest, "train": TrainRequest,
    }.get(task)  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
def test_every_command_parses(command, capsys, monkeypatch, tmp_path):
    from nba_elt.errors import BadInput

    # validating needs no database (--select runs `dbt ls`, which only reads the URL): a
    # closed port, so that nothing starts the embedded Postgres
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nba_elt")
    monkeypatch.setenv("NBA_ELT_DBT_TARGET_PATH", str(tmp_path / "dbt-target"))

    program = _parse(command, capsys)
    context = program.tasks[0]
    assert context.name == command.task or command.task in context.aliases, command.id
    if command.synopsis:
        known = set(program.parser.contexts[context.name].flags)
        unknown = [flag for flag in command.flags if flag not in known]
        assert not unknown, f"{command.id}: {command.task} has no {unknown}"
        return
    request_type = _request_type(context.name)
    if request_type is None:
        return  # no values beyond the flags' types (demo, model, db.*, docker.*, test, ...)
    flags = {k: v for k, v in context.as_kwargs.items() if v is not None}
    for key in ("json", "verbose", "docker"):
        flags.pop(key, None)
    try:
        request_type.from_flags(None, **flags)
    except BadInput as exc:
        pytest.fail(f"{command.id}: `{command.text}` is bad input: {exc}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
def test_every_command_is_run_or_has_a_reason(command):
    assert _reason(command) != "not classified", f"{command.id}: `{command.text}` is neither run"


def test_the_tables_name_commands_the_docs_show():
    shown = {c.text for c in COMMANDS}
    assert set(RUN) | set(RUN_ON_DEMO) <= shown, (set(RUN) | set(RUN_ON_DEMO)) - shown


@pytest.fixture
def site(httpserver):
    site = RecordedSite(httpserver)
    for path, file in NBA_PAGES.items():
        site.add_page(path, file)
    return site


def _run(
    command: DocCommand, env: dict[str, str], elsewhere: Path, *extra: str
) -> subprocess.CompletedProcess:
    """The command as the doc shows it: invoke in the repository, nba-elt in `elsewhere`."""
    binary = {
        "invoke": [sys.executable, "-m", "invoke"],
        "nba-elt": [str(Path(sys.executable).with_name("nba-elt"))],
        "python -m nba_elt": [sys.executable, "-m", "nba_elt"],
    }[command.binary]
    return subprocess.run(
        [*binary, *command.args, *extra],
        cwd=ROOT if command.binary == "invoke" else elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_the_run_commands_run_against_the_local_site(site, db_url, tmp_path):
    env = _env(
        site,
        db_url,
        tmp_path / "archive",
        NBA_ELT_NBA_STATS_URL=site.url,
        NBA_ELT_NBA_CDN_URL=site.url,
        NBA_ELT_MODEL_DIR=str(tmp_path / "models"),
        NBA_ELT_STATE_DIR=str(tmp_path / "state"),
    )
    by_text = {c.text: c for c in COMMANDS}
    failed = []
    for shown, expected in RUN.items():
        done = _run(by_text[shown], env, tmp_path)
        if done.returncode != expected:
            failed.append(f"{by_text[shown].id} `{shown}`: exit {done.returncode}\n"
                          f"{done.stdout[-1500:]}{done.stderr[-1500:]}")  # fmt: skip
    assert not failed, "\n".join(failed)


@pytest.fixture(scope="module")
def demo_url(pg_cluster):
    from nba_elt.cli.commands import demo_task
    from nba_elt.pipelines.demo import DEMO_DATABASE

    with pytest.MonkeyPatch.context() as mp:
        use_only_this_cluster(mp, pg_cluster)
        assert demo_task().exit_code == 0
    return pg_cluster.url(DEMO_DATABASE)


def _statements(sql: str) -> list[str]:
    """The statements of a block, each without its comment lines."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _is_roles_block(sql: str) -> bool:
    return "create role" in sql


@pytest.mark.slow
def test_sql_blocks_run_on_the_demo_database(demo_url):
    engine = create_engine(demo_url)
    rows: dict[str, list] = {}
    with engine.connect() as conn:
        for block in sql_blocks():
            if _is_roles_block(block.code):
                continue  # test_the_roles_sql_runs_in_a_rolled_back_transaction
            for index, statement in enumerate(_statements(block.code)):
                rows[f"{block.id} #{index + 1}"] = conn.execute(text(statement)).fetchall()
        predictions = conn.execute(text("select count(*) from ml_models.ml_game_predictions"))
        assert predictions.scalar() == 4  # README: "its 4 predictions"
    engine.dispose()
    readme = [key for key in rows if key.startswith("README.md")]
    assert rows[readme[0]] == []  # README: "the first query returns no row" on the demo
    accuracy = next(rows[key] for key in rows if key.startswith("docs/production.md") and
                    rows[key] and len(rows[key][0]) == 2)  # fmt: skip
    assert accuracy[0][0] == 4  # production.md's hit rate counts the demo's 4 final games


def test_the_roles_sql_runs_in_a_rolled_back_transaction(engine, db_url):
    """docs/production.md's roles and grants, on a fresh migrated database (its name for
    `nba_elt`) after dbt's schemas exist; rolled back, so no role outlives the test."""
    (block,) = [b for b in sql_blocks() if _is_roles_block(b.code)]
    database = db_url.rsplit("/", 1)[1]
    sql = block.code.replace("on database nba_elt", f'on database "{database}"')
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql("create schema if not exists marts")
        conn.exec_driver_sql("create schema if not exists ml_models")
        for statement in _statements(sql):
            conn.exec_driver_sql(statement)
        granted = conn.execute(
            text("select has_schema_privilege('nba_reader', 'marts', 'usage')")
        ).scalar()
        transaction.rollback()
    assert granted


@pytest.mark.slow
def test_the_demo_commands_run_on_the_demo_database(demo_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(NBA_ELT_DATABASE_URL=demo_url, COLUMNS="200", NBA_ELT_STATE_DIR=str(tmp_path))
    env.update(NBA_ELT_DBT_TARGET_PATH=str(tmp_path / "dbt-target"))
    for shown, expected in RUN_ON_DEMO.items():
        done = _run(next(c for c in COMMANDS if c.text == shown), env, tmp_path, "--json")
        assert done.returncode == expected, done.stdout + done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["exit_code"] == expected


@pytest.mark.parametrize("block", fenced_blocks("json"), ids=lambda b: b.id)
def test_json_blocks_are_json(block):
    json.loads(block.code)


@pytest.mark.parametrize("block", fenced_blocks("sh"), ids=lambda b: b.id)
def test_shell_scripts_parse(block):
    """Syntax only (`sh -n`): the script runs the daily job on a server, in a loop."""
    done = subprocess.run(["sh", "-n"], input=block.code, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


OTHER_PYTHON = [b for b in fenced_blocks("python") if b.doc != "docs/python-api.md"]


@pytest.mark.parametrize("block", OTHER_PYTHON, ids=lambda b: b.id)
def test_python_blocks_outside_the_api_page_compile(block):
    """Compiled only: docs/scheduling.md's Airflow DAG needs Airflow, not a dependency here
    (docs/python-api.md's blocks run in tests/integration/test_python_api_doc.py)."""
    compile(block.code, block.id, "exec")


@pytest.mark.slow
@pytest.mark.parametrize("block", indented_python_blocks(), ids=lambda b: b.id)
def test_indented_python_runs_against_the_local_site(
    block, bbref_site, engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("NBA_ELT_DBT_TARGET_PATH", str(tmp_path / "dbt-target"))
    namespace: dict = {}
    exec(compile(block.code, block.id, "exec"), namespace)  # noqa: S102
    assert namespace["report"].exit_code == 0
    assert len(namespace["box"]) > 0
