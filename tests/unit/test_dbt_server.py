"""The warm dbt server's protocol, with a stand-in for dbt's runner (no dbt import, no
database): what a build sees, what it leaves behind, a client that goes away, a server that
is going away. The real server runs every build of tests/integration/test_dbt_build.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from nba_elt.transform import dbt_server


class _Outcome:
    def __init__(self, success=True, exception=None):
        self.success, self.exception, self.result = success, exception, None


class _RecordingRunner:
    seen: list[dict] = []

    def invoke(self, argv):
        print("dbt says hello")  # dbt prints through its logger to sys.stdout
        self.seen.append({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()})
        return _Outcome()


class _RunnerUntilInterrupted:
    def invoke(self, argv):
        print("1 of 9 START sql table model marts.standings")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # dbt waiting on its queries
            time.sleep(0.01)
        return _Outcome()


def _request(client: socket.socket, env: dict) -> None:
    request = {"argv": ["build"], "env": env, "cwd": "/", "results_file": "/nonexistent"}
    client.sendall((json.dumps(request) + "\n").encode())


def test_a_build_gets_the_request_s_environment_and_leaves_none_of_it(monkeypatch):
    monkeypatch.setenv("NBA_ELT_SERVER_OWN", "kept")
    base_env, base_cwd = dict(os.environ), os.getcwd()
    server_end, client = socket.socketpair()
    _RecordingRunner.seen = []
    _request(
        client, {"DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD": "s3cret", "NBA_ELT_RUN_DATE": "2025-03-16"}
    )

    assert dbt_server._serve_one(server_end, _RecordingRunner, base_env, base_cwd) is True
    server_end.close()
    answer = client.makefile("r").read().splitlines()
    client.close()

    assert answer == [dbt_server.STARTED, "dbt says hello", f"{dbt_server.EXIT}0"]
    seen = _RecordingRunner.seen[0]
    assert seen["env"] == {
        "DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD": "s3cret",
        "NBA_ELT_RUN_DATE": "2025-03-16",
    }  # the request's environment exactly: nothing of the server's own
    assert seen["cwd"] == "/" and seen["argv"] == ["build"]
    assert dict(os.environ) == base_env and os.getcwd() == base_cwd


def test_a_client_that_goes_away_stops_the_build_and_the_server():
    server_end, client = socket.socketpair()
    _request(client, {})
    reader = client.makefile("r")

    def leave_once_started():
        assert reader.readline().rstrip("\n") == dbt_server.STARTED
        reader.readline()  # dbt's first line: the build is under way
        reader.close()
        client.close()  # Ctrl-C in `invoke refresh`

    leaving = threading.Thread(target=leave_once_started)
    leaving.start()
    started = time.monotonic()
    keep_serving = dbt_server._serve_one(
        server_end, _RunnerUntilInterrupted, dict(os.environ), os.getcwd()
    )
    leaving.join()
    server_end.close()

    assert keep_serving is False  # the server exits after an interrupted build
    assert time.monotonic() - started < 5  # the build was stopped, not waited out


def test_a_server_that_closes_without_starting_the_build_leaves_it_to_a_new_process(tmp_path):
    path = tmp_path / "going-away.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def accept_and_close():
        conn, _ = listener.accept()
        conn.close()  # a server idling out as the client came

    threading.Thread(target=accept_and_close, daemon=True).start()
    lines: list[str] = []
    code = dbt_server.build(
        ["build"], {}, tmp_path, tmp_path / "run_results.json", path, 60, lines.append,
        tmp_path / "dbt_server.log",
    )  # fmt: skip
    listener.close()
    assert code is None and lines == []


def test_a_socket_left_by_a_dead_server_is_replaced_and_a_live_one_kept(tmp_path):
    path = tmp_path / "s.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens

    live = dbt_server._listen(path)
    assert live is not None and (path.stat().st_mode & 0o777) == 0o600
    assert dbt_server._listen(path) is None  # a second server leaves the first alone
    live.close()


def test_the_socket_lives_in_a_folder_only_its_user_can_open(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    deep = tmp_path / "a" / "very" / ("long" * 30) / "target"
    path = dbt_server.socket_path(deep, Path("dbt"))
    assert path is not None and path.parent.stat().st_mode & 0o777 == 0o700
    # a Unix socket's path has at most ~107 bytes: its length never grows with the target's
    assert len(str(path)) == len(str(dbt_server.socket_path(tmp_path / "t", Path("dbt"))))
    assert path != dbt_server.socket_path(tmp_path / "t", Path("dbt"))

    path.parent.chmod(0o755)  # opened to others: no server rather than a shared socket
    assert dbt_server.socket_path(deep, Path("dbt")) is None


@pytest.mark.parametrize("name", ["DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD", "NBA_ELT_DATABASE_URL",
                                  "NBA_ELT_SLACK_WEBHOOK_URL", "AWS_SECRET_ACCESS_KEY"])  # fmt: skip
def test_the_server_starts_without_the_secrets(name):
    assert dbt_server._is_secret(name)
    assert not dbt_server._is_secret("NBA_ELT_DBT_HOST")


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "dbt").exists(), reason="dbt is not beside this Python"
)
def test_a_backfill_starts_the_server_once_and_does_not_wait_for_it(tmp_path, monkeypatch):
    from nba_elt.config import get_settings
    from nba_elt.transform.dbt import _server_socket, prestart_dbt_server

    monkeypatch.setenv("NBA_ELT_DBT_SERVER_IDLE", "30")
    monkeypatch.setenv("NBA_ELT_DBT_TARGET_PATH", str(tmp_path / "target"))
    settings = get_settings()
    server_log = tmp_path / "logs" / "dbt_server.log"
    started = time.monotonic()
    prestart_dbt_server(settings)
    assert time.monotonic() - started < 2  # dbt's import (2-3 s) happens in the background
    path = _server_socket(settings)
    try:
        deadline = time.monotonic() + 30
        while dbt_server._connect(path) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dbt_server._connect(path) is not None
        prestart_dbt_server(settings)  # one answers: no second server
        starts = [line for line in server_log.read_text().splitlines() if " starts on " in line]
        assert len(starts) == 1, server_log.read_text()
    finally:
        for line in server_log.read_text().splitlines():
            if " starts on " in line:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line.split()[4]), signal.SIGTERM)
