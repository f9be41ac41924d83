"""Exit codes mean one thing (docs/architecture.md, "Exit codes"): every task of `nba-elt` x
{a mistyped flag, a flag without its value, a bad value, an outage}.

The tasks run in this process through the console script's own Program (what `nba-elt`
runs), against a refused port on 127.0.0.1 as the database, the site or AWS; the bad
values are checked with the database refused too, so a task that touched it before
validating its flags would exit 1, not 2. The installed `nba-elt` and the repository's
`invoke` are run once each as the operator runs them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nba_elt.cli.program import NbaEltProgram
from nba_elt.cli.tasks import ns

ROOT = Path(__file__).resolve().parents[2]
REFUSED = "http://127.0.0.1:9"  # discard, on loopback: refused at once
REFUSED_DB = "postgresql://nba@127.0.0.1:9/nba"
HEAD = ["task", "status", "exit_code", "message"]
TASKS = sorted(ns.task_names)

# one bad value per task that takes a value; flags-only tasks have none
BAD_VALUES = {
    "backfill": ["--date", "2018-13-45"],
    "refresh": ["--sources", "nosuch"],
    "predict": ["--date", "someday"],
    "train": ["--test-season", "abc"],
    "model": ["--activate", "no-such-model"],
    "verify": ["--date", "2018-13-45"],
    "reboot-dashboard": ["--mode", "reboot-everything"],
    "gaps": ["--season", "1800"],
    "daily": ["--date", "2018-13-45"],
    "flags": ["--enable", "no_such_flag"],  # checked against the table: needs the database
}
FLAGS_ONLY = {"demo", "db.up", "db.down", "db.status", "db.migrate"}
# the tasks that read the warehouse, with the arguments that make them do it
USES_THE_DATABASE = {
    "backfill": ["--date", "2018-01-01", "--offline"],
    "refresh": [],
    "predict": ["--date", "2018-01-01"],
    "train": [],
    "verify": ["--date", "2018-01-01"],
    "gaps": ["--season", "2018"],
    "daily": ["--date", "2018-01-01", "--offline", "--no-reboot"],
    "flags": [],
    "db.status": [],
    "db.migrate": [],
}


def exit_code_table() -> dict[str, int]:
    """docs/architecture.md's table: what happened -> exit code."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("#### Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in section.splitlines()[2:]]
    return {what.strip(): int(code) for code, what in rows}


EXIT = exit_code_table()


def run(capsys, *args: str) -> tuple[int, dict | None, str]:
    """(exit code, the JSON line or None, stderr) of `nba-elt *args`."""
    program = NbaEltProgram(namespace=ns, name="nba-elt", binary="nba-elt")
    try:
        program.run(["nba-elt", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, (json.loads(lines[-1]) if lines else None), err


def assert_bad_input(code: int, line: dict | None, err: str, task: str) -> None:
    assert code == EXIT["bad input"] == 2, err
    assert line is not None and list(line)[:4] == HEAD, line
    assert (line["task"], line["status"], line["exit_code"]) == (task, "bad_input", 2)
    assert line["message"] in err and line["message"].startswith("BadInput: ")


@pytest.fixture
def refused_db(monkeypatch):
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", REFUSED_DB)


def test_the_table_is_the_code():
    from nba_elt.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NOT_AVAILABLE, EXIT_OK

    assert EXIT == {
        "success": EXIT_OK,
        "failure": EXIT_FAILED,
        "bad input": EXIT_BAD_INPUT,
        "not available": EXIT_NOT_AVAILABLE,
        "interrupted (Ctrl-C)": 130,
        "stopped (SIGTERM)": 143,
    }
    assert set(BAD_VALUES) | FLAGS_ONLY == set(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_a_mistyped_flag_is_bad_input(capsys, refused_db, task):
    code, line, err = run(capsys, task, "--dat", "2018-01-01", "--json")
    assert_bad_input(code, line, err, task)
    assert "No idea what '--dat' is!" in err and f"nba-elt {task} --help" in err


@pytest.mark.parametrize("task", sorted(BAD_VALUES))
def test_a_flag_without_its_value_is_bad_input(capsys, refused_db, task):
    flag = BAD_VALUES[task][0]
    code, line, err = run(capsys, task, "--json", flag)
    assert_bad_input(code, line, err, task)
    assert f"{flag} needed value" in line["message"]


@pytest.mark.parametrize("task", sorted(set(BAD_VALUES) - {"flags"}))
def test_a_bad_value_is_bad_input_before_any_io(capsys, refused_db, task):
    code, line, err = run(capsys, task, *BAD_VALUES[task], "--json")
    assert_bad_input(code, line, err, task)


def test_an_unknown_flag_name_is_bad_input(capsys, db_url):
    code, line, err = run(capsys, "flags", *BAD_VALUES["flags"], "--json")
    assert_bad_input(code, line, err, "flags")


def test_an_unknown_task_is_bad_input(capsys):
    code, line, err = run(capsys, "bakfill", "-j")
    assert_bad_input(code, line, err, "bakfill")
    assert "nba-elt --list" in err
    code, line, err = run(capsys, "test", "--fast")
    assert code == 2 and "run `invoke test` in a checkout of the repository" in err


@pytest.mark.parametrize("task", sorted(USES_THE_DATABASE))
def test_an_unreachable_database_is_a_failure(capsys, refused_db, task):
    code, line, err = run(capsys, task, *USES_THE_DATABASE[task], "--json")
    assert code == EXIT["failure"], err
    assert line["status"] == "failed" and "Connection refused" in line["message"]


def test_an_unreachable_site_is_a_failure(capsys, db_url, monkeypatch):
    monkeypatch.setenv("NBA_ELT_BBREF_URL", REFUSED)
    code, line, err = run(capsys, "backfill", "-d", "2018-01-01", "-s", "boxscores", "-j")
    assert code == EXIT["failure"], err
    assert line["status"] == "failed" and line["counts"]["failed"] == 1, line


def test_an_nba_game_id_with_no_nba_host_is_a_failure_not_bad_input(capsys, db_url):
    # conftest: the NBA's CDN and stats hosts refuse connections
    code, line, err = run(capsys, "backfill", "--games", "0022200552", "-s", "boxscores", "-j")
    assert code == EXIT["failure"], err
    assert line["error_type"] == "SiteUnreachable", line


def test_an_unreachable_aws_endpoint_is_a_failure(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("NBA_ELT_AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    args = ["reboot-dashboard", "--cluster", "c", "--service", "s", "--timeout", "5", "-j"]
    code, line, err = run(capsys, *args)
    assert code == EXIT["failure"], err
    assert "Could not connect" in line["message"] and "test-secret" not in err + str(line)


def test_the_installed_binary_works_from_any_folder(tmp_path):
    binary = Path(sys.executable).with_name("nba-elt")
    assert binary.exists(), "pip install -e . installs the nba-elt console script"
    listed = subprocess.run([binary, "--list"], cwd=tmp_path, capture_output=True, text=True)
    assert listed.returncode == 0 and re.search(r"^\s+db\.up\b", listed.stdout, re.M)
    helped = subprocess.run(
        [binary, "backfill", "-h"], cwd=tmp_path, capture_output=True, text=True
    )
    assert helped.returncode == 0 and "--dry-run" in helped.stdout
    bad = subprocess.run(
        [binary, "backfill", "--dat", "2018-01-01", "--json"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and json.loads(bad.stdout)["status"] == "bad_input"
    module = subprocess.run(
        [sys.executable, "-m", "nba_elt", "db.up", "--dat"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )  # python -m nba_elt: the same program, for a PATH without the venv's scripts
    assert module.returncode == 2 and "`nba-elt db.up --help`" in module.stderr


def test_invoke_in_the_repository_keeps_the_contract():
    bad = subprocess.run(
        [sys.executable, "-m", "invoke", "backfill", "--dat", "2018-01-01", "--json"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    line = json.loads(bad.stdout)
    assert (line["task"], line["status"]) == ("backfill", "bad_input")
    assert "invoke backfill --help" in line["message"]
