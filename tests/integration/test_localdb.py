"""The embedded local Postgres: start, restart, crash recovery, the invoke db.* tasks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from nba_elt.errors import LocalDbError
from nba_elt.warehouse.localdb import LocalDb, find_pg_bin

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    db = LocalDb(tmp_path / "localdb", _free_port(), fast_and_unsafe=True)
    yield db
    db.destroy()


def _query(db: LocalDb, sql: str):
    conn = psycopg2.connect(host="127.0.0.1", port=db.port, user="postgres", dbname="nba_elt")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_up_twice_is_harmless_and_down_stops(cluster):
    url = cluster.up()
    assert url.endswith(f"127.0.0.1:{cluster.port}/nba_elt")
    assert cluster.up() == url
    assert _query(cluster, "select current_database()") == "nba_elt"
    if os.geteuid() == 0:
        # PostgreSQL refuses root: the server must run as an unprivileged user.
        assert _query(cluster, "select current_setting('data_directory')")
        assert cluster.status()["run_as"] in ("postgres", "nobody")
    assert cluster.down() is True
    assert cluster.down() is False
    assert cluster.status()["running"] is False


def test_stale_pid_file_after_a_crash_is_recovered(cluster):
    cluster.up()
    pid = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)  # the postmaster dies; its pid file stays behind
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            time.sleep(0.1)
        except ProcessLookupError:
            break
    # children may linger a moment after the postmaster dies
    time.sleep(1.0)
    assert (cluster.data_dir / "postmaster.pid").exists()
    cluster.up()
    assert _query(cluster, "select 1") == 1


def test_a_port_taken_by_another_server_is_named_with_the_setting_to_change(cluster):
    # e.g. a second clone's embedded Postgres on the default port: pg_ctl alone says only
    # "could not start server"
    with socket.socket() as other:
        other.bind(("127.0.0.1", cluster.port))
        other.listen()
        with pytest.raises(LocalDbError) as err:
            cluster.up()
    message = str(err.value)
    assert f"127.0.0.1:{cluster.port} is already in use" in message
    assert "NBA_ELT_LOCALDB_PORT" in message
    assert cluster.status()["running"] is False
    assert cluster.up().endswith(f":{cluster.port}/nba_elt")  # free again: it starts


def test_a_cluster_running_on_another_port_is_not_mistaken_for_this_one(cluster):
    # started with one NBA_ELT_LOCALDB_PORT, asked for with another: connecting to the new
    # port would reach whatever listens there (another clone's cluster), not this one
    cluster.up()
    elsewhere = LocalDb(cluster.base_dir, _free_port())
    with pytest.raises(LocalDbError) as err:
        elsewhere.up()
    message = str(err.value)
    assert f"running on port {cluster.port}, not on {elsewhere.port}" in message
    assert f"NBA_ELT_LOCALDB_PORT={cluster.port}" in message and "invoke db.down" in message
    assert elsewhere.down() is True  # db.down stops it whatever the port
    assert elsewhere.up().endswith(f":{elsewhere.port}/nba_elt")
    assert _query(elsewhere, "select current_database()") == "nba_elt"
    elsewhere.down()


def test_missing_server_binaries_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("NBA_ELT_PG_BIN", str(tmp_path / "nowhere"))
    monkeypatch.setattr("nba_elt.warehouse.localdb.SYSTEM_PG_ROOT", tmp_path / "none")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("nba_elt.warehouse.localdb.pip_pg_bin", lambda: None)  # no pgserver
    with pytest.raises(LocalDbError) as err:
        find_pg_bin()
    assert "apt-get install postgresql" in str(err.value)
    assert "NBA_ELT_DATABASE_URL" in str(err.value)


@pytest.mark.slow  # end to end through subprocesses: the full suite runs it
def test_invoke_db_tasks_end_to_end(tmp_path):
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_") and k != "PGPASSWORD"
    }
    env.update(NBA_ELT_LOCALDB_DIR=str(tmp_path / "db"), NBA_ELT_LOCALDB_PORT=str(port))
    invoke = [sys.executable, "-m", "invoke"]

    def run(*args):
        return subprocess.run(
            [*invoke, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    try:
        up = run("db.up", "--json")
        assert up.returncode == 0, up.stderr
        # with --json, stdout is the JSON line alone (a machine parses all of it)
        summary = json.loads(up.stdout)
        assert (
            summary["status"] == "succeeded"
            and summary["state"] == "running"
            and str(port) in summary["url"]
        )
        first = run("db.migrate", "--json")
        second = run("db.migrate", "--json")
        assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
        assert json.loads(first.stdout)["applied"]
        assert json.loads(second.stdout)["applied"] == []
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="nba_elt")
        with conn.cursor() as cur:
            cur.execute(
                "select count(*) from information_schema.tables "
                "where table_schema in ('nba_source', 'ops')"
            )
            assert cur.fetchone()[0] >= 6
        conn.close()
        # without --json, stdout is the URL alone: `psql "$(invoke db.migrate)"` works
        plain = run("db.migrate")
        assert plain.returncode == 0, plain.stderr
        printed_url = plain.stdout.strip()
        assert printed_url.startswith("postgresql://") and str(port) in printed_url
        if shutil.which("psql"):  # the printed URL is the one an operator pastes into psql
            psql = subprocess.run(
                ["psql", printed_url, "-Atc", "select to_regclass('ops.backfill_units')"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert psql.stdout.strip() == "ops.backfill_units", psql.stderr
        status = run("db.status")
        assert status.returncode == 0 and "running" in status.stderr
        assert "PostgreSQL 15" in status.stderr and "migrations up to date" in status.stderr
    finally:
        down = run("db.down")
        assert down.returncode == 0, down.stderr
        LocalDb(tmp_path / "db", port).destroy()
