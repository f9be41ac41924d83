"""The real `invoke backfill` / `invoke gaps` in subprocesses, as an operator runs them.

Exit codes 0 / 75 / 1 / 2, kill -9 in the middle of a run and --resume, two concurrent
runs on the same day, and no secret (database password, webhook URL) in any output.
The recorded pages are served by a local HTTP server in the test process; a slow variant
makes each page take long enough to kill the backfill between or inside units.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.wrappers import Request, Response

from tests.integration.test_backfill_run import _table_rows
from tests.recorded_site import RecordedSite

ROOT = Path(__file__).resolve().parents[2]
PBP_GAMES = "201901010DEN,201810160GSW,201810270MIL"
DB_PASSWORD = "pw-Sup3rS3cret"
WEBHOOK_SECRET = "/services/TSECRET/BSECRET/hooky-secret-token"


class SlowSite(RecordedSite):
    """The recorded site, answering each page after `delay` seconds."""

    delay = 0.0

    def _handle(self, request: Request) -> Response:
        time.sleep(self.delay)
        return super()._handle(request)


@pytest.fixture
def site(httpserver):
    return SlowSite(httpserver)


@pytest.fixture
def secret_db_url(db_url, pg_cluster):
    """The test database reached by a role with a password (to prove it is never printed)."""
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("select 1 from pg_roles where rolname = 'nba_operator'")).first()
        if not exists:
            conn.exec_driver_sql(
                f"create role nba_operator login superuser password '{DB_PASSWORD}'"
            )
    admin.dispose()
    url = db_url.replace("postgres@", f"nba_operator:{DB_PASSWORD}@", 1)
    assert DB_PASSWORD in url
    return url


def _env(site, db_url: str, archive: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(
        NBA_ELT_DATABASE_URL=db_url,
        NBA_ELT_BBREF_URL=site.url,
        NBA_ELT_ARCHIVE_DIR=str(archive),
        NBA_ELT_REQUESTS_PER_MINUTE="6000",
        NBA_ELT_LOCALDB_DIR=str(archive.parent / "no-localdb"),
        PYTHONPATH=str(ROOT),
        COLUMNS="200",
    )
    env.update(extra)
    return env


def _invoke(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background (`cmd &` without job
        # control) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _no_secret(*outputs: str) -> None:
    for out in outputs:
        assert DB_PASSWORD not in out
        assert "hooky-secret-token" not in out and "TSECRET" not in out


def _units(engine, run_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("select unit_key, status from ops.backfill_units where run_id = :r"),
                {"r": run_id},
            ).all()
        )


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_exit_codes_through_invoke(site, secret_db_url, engine, tmp_path, httpserver):
    env = _env(site, secret_db_url, tmp_path / "archive")
    env["NBA_ELT_SLACK_WEBHOOK_URL"] = httpserver.url_for(WEBHOOK_SECRET)

    bad = _invoke(["backfill", "--date", "2018-01-01", "--sources", "box,pbp", "--json"], env)
    assert bad.returncode == 2
    assert "valid sources: schedule, boxscores, pbp" in bad.stderr
    assert _last_json(bad.stdout)["exit_code"] == 2

    dry = _invoke(["backfill", "--date", "2018-01-01", "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    assert "Backfill plan" in dry.stderr
    plan = _last_json(dry.stdout)["plan"]
    # schedule, boxscores and the pbp listing unit (its games are not known yet)
    assert [(u["source"], u["unit_key"]) for u in plan["units"]] == [
        ("schedule", "2018-01-01"),
        ("boxscores", "2018-01-01"),
        ("pbp", "2018-01-01"),
    ]
    assert any("known only when the run lists them" in note for note in plan["notes"])

    ok = _invoke(
        ["backfill", "--date", "2018-01-01", "--sources", "schedule,boxscores", "--json"], env
    )
    assert ok.returncode == 0, ok.stderr
    summary = _last_json(ok.stdout)
    assert summary["counts"]["succeeded"] == 2 and summary["exit_code"] == 0
    assert f"backfill run {summary['run_id']}" in ok.stderr  # the final table's title
    assert "derozde01" not in ok.stderr  # a table of units, not of rows

    # The daily leaders page without its table: the site has not published it yet.
    site.override("/friv/dailyleaders.fcgi?month=1&day=1&year=2018", "<html><body></body></html>")
    site.override("/friv/dailyleaders.fcgi?month=1&day=1&year=2018&type=all", "<html></html>")
    # (A fresh archive: the recorded page of a final day would otherwise be re-read.)
    na_env = {**env, "NBA_ELT_ARCHIVE_DIR": str(tmp_path / "archive-na")}
    na = _invoke(["backfill", "--date", "2018-01-01", "--sources", "boxscores", "--force"], na_env)
    assert na.returncode == 75, na.stderr

    # The Jan 1 2018 pbp pages are not recorded: 404 -> failed -> exit 1 and one alert.
    failed = _invoke(["backfill", "--date", "2018-01-01", "--sources", "pbp", "--json"], env)
    assert failed.returncode == 1, failed.stderr
    run_id = _last_json(failed.stdout)["run_id"]
    assert f"invoke backfill --resume {run_id}" in _last_json(failed.stdout)["message"]
    alerts = [json.loads(r.data) for r, _ in httpserver.log if r.path == WEBHOOK_SECRET]
    assert len(alerts) == 2  # the not-available run and the failed run
    assert f"invoke backfill --resume {run_id}" in alerts[-1]["text"]
    _no_secret(bad.stdout, bad.stderr, dry.stdout, dry.stderr, ok.stdout, ok.stderr)
    _no_secret(na.stdout, na.stderr, failed.stdout, failed.stderr)


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _statuses(engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("select run_id, unit_key, status from ops.backfill_units order by 1, 2")
            )
        ]


@pytest.mark.parametrize("kill_inside_unit", [False, True], ids=["between", "inside"])
def test_kill_9_then_resume_equals_an_uninterrupted_run(
    site, db_url, engine, pg_cluster, tmp_path, kill_inside_unit
):
    # The reference: the same backfill, uninterrupted, in its own database and archive.
    ref_name = f"ref_{os.getpid()}_{int(kill_inside_unit)}"
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'drop database if exists "{ref_name}"')
        conn.exec_driver_sql(f'create database "{ref_name}" template "nba_elt_template"')
    ref_url = pg_cluster.url(ref_name)
    try:
        ref = _invoke(
            ["backfill", "--games", PBP_GAMES, "--sources", "pbp"],
            _env(site, ref_url, tmp_path / "ref"),
        )
        assert ref.returncode == 0, ref.stderr
        ref_engine = create_engine(ref_url)
        expected = _table_rows(ref_engine)
        ref_engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{ref_name}" with (force)')
        admin.dispose()
    assert len({r[0] for r in expected["pbp"]}) == 3

    site.delay = 1.5
    env = _env(site, db_url, tmp_path / "archive")
    proc = _spawn(["backfill", "--games", PBP_GAMES, "--sources", "pbp"], env)
    try:
        if kill_inside_unit:
            # The first unit is in flight (its page is being served): kill it there.
            _wait_for(lambda: (1, "201810160GSW", "running") in _statuses(engine), what="unit 1")
            time.sleep(0.5)
        else:
            # The first unit succeeded, the second is waiting for its page.
            _wait_for(
                lambda: (1, "201810160GSW", "succeeded") in _statuses(engine)
                and (1, "201810270MIL", "running") in _statuses(engine),
                what="unit 2 running",
            )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    site.delay = 0.0

    # No partial unit: every game in nba_source.pbp is complete, and only finished ones.
    with engine.connect() as conn:
        run = conn.execute(
            text("select status, pid, host from ops.backfill_runs where id = 1")
        ).one()
        loaded = dict(
            conn.execute(text("select game_id, count(*) from nba_source.pbp group by 1")).all()
        )
    assert run.status == "running" and run.pid  # the ledger says who was running it
    expected_counts = {}
    for row in expected["pbp"]:
        expected_counts[row[0]] = expected_counts.get(row[0], 0) + 1
    for game_id, count in loaded.items():
        assert count == expected_counts[game_id], f"partial pbp for {game_id}"
    ledger = _units(engine, 1)
    succeeded = {k for k, s in ledger.items() if s == "succeeded"}
    assert succeeded == set(loaded)
    assert ledger["201901010DEN"] == "pending"

    resumed = _invoke(["backfill", "--resume", "1", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    summary = _last_json(resumed.stdout)
    assert summary["resumed_from"] == 1
    assert {u["unit_key"] for u in summary["units"]} == set(ledger) - succeeded
    assert _table_rows(engine) == expected
    with engine.connect() as conn:
        old = conn.execute(text("select status, message from ops.backfill_runs where id = 1")).one()
    assert old.status == "interrupted" and "ended without finishing" in old.message
    if kill_inside_unit:
        assert "interrupted while running" in (_error(engine, 1, "201810160GSW") or "")


def _error(engine, run_id: int, unit_key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("select error from ops.backfill_units where run_id = :r and unit_key = :k"),
            {"r": run_id, "k": unit_key},
        ).scalar()


def test_two_concurrent_runs_write_each_unit_once(site, db_url, engine, tmp_path):
    site.delay = 1.0
    env = _env(site, db_url, tmp_path / "archive")
    args = ["backfill", "--date", "2018-01-01", "--sources", "schedule,boxscores", "--json"]
    first = _spawn(args, env)
    second = _spawn(args, env)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    s1, s2 = _last_json(out1), _last_json(out2)
    # Each unit was written by exactly one run; the other waited, then found it complete.
    for unit in ("schedule", "boxscores"):
        outcomes = sorted(u["status"] for s in (s1, s2) for u in s["units"] if u["source"] == unit)
        assert outcomes == ["skipped", "succeeded"], (unit, s1, s2)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 82
        dupes = conn.execute(
            text(
                "select count(*) from (select game_id, player_id from nba_source.boxscores "
                "group by 1, 2 having count(*) > 1) d"
            )
        ).scalar()
    assert dupes == 0


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_gaps_finds_a_removed_game_and_fix_restores_it(site, db_url, engine, tmp_path):
    env = _env(site, db_url, tmp_path / "archive")
    with engine.begin() as conn:
        conn.execute(
            text("update nba_source.feature_flags set is_enabled = false where flag = 'pbp'")
        )
    loaded = _invoke(["backfill", "--date", "2018-01-01"], env)
    assert loaded.returncode == 0, loaded.stderr
    before = _table_rows(engine)

    clean = _invoke(["gaps", "--start", "2018-01-01", "--end", "2018-01-01", "--json"], env)
    assert clean.returncode == 0, clean.stderr
    assert _last_json(clean.stdout)["missing_boxscores"] == []

    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores where game_id = '201801010TOR'"))
    found = _invoke(["gaps", "--season", "2018", "--json"], env)
    assert found.returncode == 1
    report = _last_json(found.stdout)
    assert report["missing_boxscores"] == ["201801010TOR"]
    assert report["missing_units"] == [{"source": "boxscores", "unit_key": "2018-01-01"}]
    assert "201801010TOR" in found.stderr

    fixed = _invoke(["gaps", "--season", "2018", "--fix", "--json"], env)
    assert fixed.returncode == 0, fixed.stderr
    assert _last_json(fixed.stdout)["remaining_units"] == 0
    assert _table_rows(engine) == before


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_marks_the_run_interrupted_and_resume_finishes_it(
    site, db_url, engine, tmp_path, signum, code
):
    """SIGTERM (docker stop, ECS) is handled as Ctrl-C is, with its own exit code."""
    site.delay = 1.5
    env = _env(site, db_url, tmp_path / "archive")
    proc = _spawn(["backfill", "--games", PBP_GAMES, "--sources", "pbp"], env)
    try:
        _wait_for(lambda: (1, "201810160GSW", "running") in _statuses(engine), what="unit 1")
        time.sleep(0.3)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    site.delay = 0.0
    assert proc.returncode == code, err
    assert "invoke backfill --resume 1" in err
    with engine.connect() as conn:
        assert conn.execute(text("select status from ops.backfill_runs where id = 1")).scalar() == (
            "interrupted"
        )
        assert conn.execute(text("select count(*) from nba_source.pbp")).scalar() == 0
    assert "interrupted" in (_error(engine, 1, "201810160GSW") or "")
    resumed = _invoke(["backfill", "--resume", "1", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    assert _last_json(resumed.stdout)["counts"]["succeeded"] == 3


def test_piped_output_is_plain_one_event_per_line(site, db_url, tmp_path):
    """Without a terminal: no box drawing, no line over 200 characters, a line per unit."""
    env = _env(site, db_url, tmp_path / "archive")
    env.pop("COLUMNS")
    args = ["backfill", "--games", PBP_GAMES, "--sources", "pbp"]
    plan = _invoke([*args, "--dry-run"], env)
    run = _invoke(args, env)
    assert plan.returncode == 0 and run.returncode == 0, plan.stderr + run.stderr
    for out in (plan.stderr, run.stderr):
        assert not re.search("[\u2500-\u257f]", out), out  # box drawing
        assert max(len(line) for line in out.splitlines()) <= 200, out
        assert "\x1b[" not in out
    # the plan: one line per unit, its pages on that line
    units = [line for line in plan.stderr.splitlines() if line.startswith("units: source=pbp")]
    assert len(units) == 3 and all("/boxscores/pbp/" in line for line in units), plan.stderr
    # the run: a progress line as each unit finishes, then one line per unit in the table
    progress = [line for line in run.stderr.splitlines() if line.startswith("unit ")]
    assert [line.split(":")[0] for line in progress] == ["unit 1/3", "unit 2/3", "unit 3/3"]
    assert all(" succeeded, " in line and " rows, " in line for line in progress), progress
    rows = [line for line in run.stderr.splitlines() if line.startswith("backfill run 1: ")]
    assert len(rows) == 3 and all("outcome=succeeded" in line for line in rows), run.stderr
