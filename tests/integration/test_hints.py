"""Every hint is runnable: the commands that failure messages name exist and apply.

Each scenario runs the real `invoke` in a subprocess (no network, a dry run, an offline run
on an empty archive, a failed unit, verify and gaps on a missing schedule), collects every
`invoke ...` the output names, and runs it against the same database and the local copy of
the site: it must parse and apply (not exit 2). A run id is named only when the ledger holds
that run; "run without --offline" only when --offline was given.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.test_backfill_cli import _env, _invoke
from tests.recorded_site import RecordedSite

ROOT = Path(__file__).resolve().parents[2]
# `invoke task`, then flags and their values, up to the end of the command
HINT = re.compile(r"invoke ([a-z][\w.-]*(?: (?:--?[a-z][\w-]*|(?!-)[\w,:/.-]*\w))*)")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def hints(done: subprocess.CompletedProcess) -> list[list[str]]:
    """The commands named in the JSON summary (every message and detail in it, unwrapped),
    or in the output when there is none."""
    lines = done.stdout.strip().splitlines()
    try:
        texts = _strings(json.loads(lines[-1]))
    except (IndexError, ValueError):
        texts = [done.stdout, done.stderr]
    found = {m.group(1) for text in texts for m in HINT.finditer(text)}
    return [h.split() for h in sorted(found)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site(httpserver):
    return RecordedSite(httpserver)


@pytest.fixture
def env(site, db_url, tmp_path):
    return _env(
        site,
        db_url,
        tmp_path / "archive",
        NBA_ELT_NBA_STATS_URL=site.url,
        NBA_ELT_NBA_CDN_URL=site.url,
    )


def _runs(engine) -> list[int]:
    with engine.connect() as conn:
        if not conn.execute(text("select to_regclass('ops.backfill_runs') is not null")).scalar():
            return []
        return list(conn.execute(text("select id from ops.backfill_runs order by id")).scalars())


def _run_hints(found: list[list[str]], env: dict[str, str]) -> None:
    for hint in found:
        done = _invoke(hint, env)
        assert done.returncode != 2, (hint, done.stderr[-2000:])


def test_no_network_names_no_run_that_was_not_recorded(env, engine):
    down = f"http://127.0.0.1:{_closed_port()}"
    offline_env = env | {
        "NBA_ELT_BBREF_URL": down,
        "NBA_ELT_NBA_STATS_URL": down,
        "NBA_ELT_NBA_CDN_URL": down,
    }
    readme = ["backfill", "--date", "2018-01-01", "--sources", "boxscores,pbp", "--json"]
    done = _invoke(readme, offline_env)
    assert done.returncode == 1, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert "cannot reach 127.0.0.1" in out
    if not _runs(engine):
        assert "resume" not in out.lower(), out[-2000:]
    for hint in hints(done):
        assert "--resume" not in hint or int(hint[hint.index("--resume") + 1]) in _runs(engine)
    _run_hints(hints(done), env)
    again = _invoke(readme, env)  # the network back: the same command runs (the recorded
    assert "82 rows written" in again.stderr  # site lacks that night's pbp pages: exit 1)


def test_a_dry_run_without_offline_does_not_hint_at_offline(env):
    done = _invoke(
        ["backfill", "--date", "2018-01-01", "--sources", "boxscores,pbp", "--dry-run", "--json"],
        env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert "--offline" not in out, out[-2000:]
    assert "unusable" not in out
    assert "a dry run reads only the archive; the run fetches it" in out
    _run_hints(hints(done), env)


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_an_offline_run_on_an_empty_archive_hints_resume_and_fetching(env, engine):
    command = ["backfill", "--date", "2018-01-01", "--sources", "schedule,boxscores", "--offline"]
    done = _invoke([*command, "--json"], env)
    assert done.returncode == 1, done.stderr[-2000:]
    out = done.stdout + done.stderr
    (run_id,) = _runs(engine)
    assert "run without --offline to fetch it" in out
    assert ["backfill", "--resume", str(run_id), "--offline"] in hints(done)
    _run_hints(hints(done), env)  # the resume applies (still offline: exit 1, not 2)
    fetched = _invoke([a for a in command if a != "--offline"], env)
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    resumed = _invoke(["backfill", "--resume", str(run_id), "--offline"], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]


def test_an_unfinished_unit_hints_the_resume_of_its_run(env, engine, site):
    site.override("/friv/dailyleaders.fcgi?month=1&day=1&year=2018", "<html>not the page</html>")
    done = _invoke(
        ["backfill", "--date", "2018-01-01", "--sources", "schedule,boxscores", "--json"], env
    )
    assert done.returncode == 75, done.stderr[-2000:]  # a page without its table: not yet
    (run_id,) = _runs(engine)
    assert hints(done) == [["backfill", "--resume", str(run_id)]]
    site.overrides.clear()
    resumed = _invoke(hints(done)[0], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_verify_and_gaps_name_the_schedule_backfill_that_applies(env, engine):
    verify = _invoke(["verify", "--date", "2018-01-01", "--json"], env)
    assert verify.returncode == 1
    assert ["backfill", "--sources", "schedule", "--date", "2018-01-01"] in hints(verify)
    gaps = _invoke(["gaps", "--start", "2018-01-01", "--end", "2018-01-02", "--json"], env)
    assert gaps.returncode == 0
    schedule = ["backfill", "--sources", "schedule", "--start", "2018-01-01", "--end"]
    assert [*schedule, "2018-01-02", "--yes"] in hints(gaps), hints(gaps)
    _run_hints([h for h in hints(verify) + hints(gaps) if h[0] == "backfill"], env)
    with engine.connect() as conn:
        days = conn.execute(text("select count(distinct game_date) from nba_source.schedule"))
        assert days.scalar() == 2  # the schedule of both days, from the January 2018 page


def test_the_hint_pattern_reads_commands_as_written():
    text_ = (
        "failed. Resume with: invoke backfill --resume 12 --offline; run invoke refresh "
        "--run-date 2018-01-02 (or invoke predict --date 2018-01-02, which builds it)"
    )
    done = subprocess.CompletedProcess([sys.executable], 1, text_, "")
    assert hints(done) == [
        ["backfill", "--resume", "12", "--offline"],
        ["predict", "--date", "2018-01-02"],
        ["refresh", "--run-date", "2018-01-02"],
    ]
