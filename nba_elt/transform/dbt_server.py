"""A warm dbt: one background process that has imported dbt-core runs the builds.

A new dbt process spends ~2 s importing dbt-core and ~1.3 s reading the project before it
builds anything; on 2 cores that was more than half of a one-date refresh
(docs/benchmarks.md). Like Gradle's daemon, the first build starts a server; the builds in
the next NBA_ELT_DBT_SERVER_IDLE seconds (default 600; 0 = no server) reuse it. The server

- listens on a Unix socket only its user can open, one per project, target dir, Python and
  dbt version (a changed install starts a new server; the old one idles out);
- runs one build at a time, with exactly the environment and arguments the client sends
  (dbt reads the project and profile anew each build; partial parsing keeps that cheap),
  streaming dbt's output lines back, then the exit code; the secrets in that environment are
  dropped when the build ends;
- stops the build when its client goes away (Ctrl-C), then exits; exits when idle, or after
  MAX_BUILDS builds.

    build(argv, env, cwd, results_file, path, idle, sink, server_log) -> exit code | None
                                        (client; None: no server took it, use a new process)
    start_in_background(path, idle, server_log)      (a backfill's: start one, do not wait)
    invoke_dbt(runner_class, argv, results_file)     (one build; also what a new process runs)
    python -m nba_elt.transform.dbt_server SOCKET IDLE   (the server; it daemonizes)

Client and server speak lines: the request is one JSON line; the server answers STARTED,
dbt's lines, then EXIT <code>. A client that gets no STARTED (a server idling out that very
moment) runs the build in a new process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

PROTOCOL = "1"
STARTED = "\x00started"
EXIT = "\x00exit "
MAX_BUILDS = 50
START_DEADLINE_SECONDS = 60.0


def socket_path(target_dir: Path, project_dir: Path) -> Path | None:
    """Where the server for this project, target dir, Python and dbt listens; None when the
    socket folder is not this user's alone (no server then)."""
    from importlib.metadata import version

    key = "\n".join(
        [
            PROTOCOL,
            sys.executable,
            str(project_dir.resolve()),
            str(target_dir.resolve()),
            version("dbt-core"),
            version("dbt-postgres"),
            str(Path(__file__).stat().st_mtime_ns),
        ]
    )
    folder = Path(tempfile.gettempdir()) / f"nba_elt-dbt-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        log.warning("%s is not this user's own folder: dbt runs without a server", folder)
        return None
    # a short name: a Unix socket's path has at most ~107 bytes
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.sock"


# ---------------------------------------------------------------- client


def build(
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    results_file: Path,
    path: Path,
    idle: float,
    sink: Callable[[str], None],
    server_log: Path,
) -> int | None:
    """Run `dbt <argv>` in the server at `path` (started if none answers); its exit code, or
    None when no server took the build (the caller runs it in a new process)."""
    conn = _connect(path) or _start(path, idle, server_log)
    if conn is None:
        return None
    request = {"argv": argv, "env": dict(env), "cwd": str(cwd), "results_file": str(results_file)}
    with conn, conn.makefile("r", encoding="utf-8", newline="\n") as reader:
        try:
            conn.sendall((json.dumps(request) + "\n").encode())
        except OSError:
            return None
        try:
            answer = reader.readline()
        except OSError:
            answer = ""
        if answer.rstrip("\n") != STARTED:
            return None  # the server was going away as we came
        for line in reader:
            if line.startswith(EXIT):
                return int(line[len(EXIT) :])
            sink(line)
    from nba_elt.errors import DbtError

    raise DbtError(f"the dbt server stopped during the build; its log is {server_log}")


def _connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def start_in_background(path: Path, idle: float, server_log: Path) -> None:
    """Start a server unless one answers at `path`; returns once it has daemonized."""
    conn = _connect(path)
    if conn is not None:
        conn.close()
        return
    _launch(path, idle, server_log)


def _start(path: Path, idle: float, server_log: Path) -> socket.socket | None:
    """Start a server and connect to it."""
    if not _launch(path, idle, server_log):
        return None
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        conn = _connect(path)
        if conn is not None:
            return conn
        time.sleep(0.02)
    log.warning(
        "the dbt server did not answer in %.0f s: a new dbt process instead",
        START_DEADLINE_SECONDS,
    )
    return None


def _launch(path: Path, idle: float, server_log: Path) -> bool:
    """Run the server's launcher; it daemonizes, so this waits only for its first fork."""
    env = {k: v for k, v in os.environ.items() if not _is_secret(k)}
    try:
        server_log.parent.mkdir(parents=True, exist_ok=True)
        with open(server_log, "ab") as errors:
            started = subprocess.run(
                [sys.executable, "-m", "nba_elt.transform.dbt_server", str(path), str(idle)],
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
                env=env,
                check=False,
                timeout=START_DEADLINE_SECONDS,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the dbt server could not start (%s): a new dbt process instead", exc)
        return False
    if started.returncode != 0:
        log.warning("the dbt server did not start (see %s): a new dbt process instead", server_log)
        return False
    return True


def _is_secret(name: str) -> bool:
    return name.startswith("DBT_ENV_SECRET") or name in (
        "NBA_ELT_DATABASE_URL",
        "NBA_ELT_SLACK_WEBHOOK_URL",
        "PGPASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    )


# ---------------------------------------------------------------- server


def serve(path: Path, idle: float) -> None:
    listener = _listen(path)
    if listener is None:
        return  # another server has this socket
    own_inode = path.stat().st_ino
    from dbt.cli.main import dbtRunner  # what the server is for: this import, once

    logging.raiseExceptions = False  # a client gone mid-line must not print tracebacks
    base_env, base_cwd = dict(os.environ), os.getcwd()
    listener.settimeout(idle)
    reason = f"{MAX_BUILDS} builds"
    try:
        for _ in range(MAX_BUILDS):
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                reason = f"idle {idle:.0f} s"
                break
            with conn:
                conn.settimeout(None)
                if not _serve_one(conn, dbtRunner, base_env, base_cwd):
                    reason = "a build was interrupted"
                    break
    except SystemExit as stop:
        reason = str(stop)
    finally:
        listener.close()
        try:
            if path.stat().st_ino == own_inode:
                path.unlink()
        except FileNotFoundError:
            pass
        _say(f"dbt server {os.getpid()} exits: {reason}")


def _listen(path: Path) -> socket.socket | None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # the socket is born 0600
    try:
        try:
            listener.bind(str(path))
        except OSError:
            if _connect(path) is not None:
                listener.close()
                return None
            path.unlink(missing_ok=True)  # left by a server that died
            listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(8)
    return listener


def _serve_one(conn: socket.socket, runner_class, base_env: dict, base_cwd: str) -> bool:
    """One build; False when it was interrupted (the server then exits)."""
    reader = conn.makefile("r", encoding="utf-8", newline="\n")
    writer = conn.makefile("w", encoding="utf-8", errors="replace")
    writer.reconfigure(line_buffering=True)  # each of dbt's lines reaches the client at once
    interrupted = False
    try:
        line = reader.readline()
        if not line:
            return True
        writer.write(STARTED + "\n")
        code, interrupted = _run(json.loads(line), writer, conn, runner_class, base_env, base_cwd)
        writer.write(f"{EXIT}{code}\n")
        writer.flush()
        conn.shutdown(socket.SHUT_RDWR)  # also wakes the watcher waiting on the client
    except OSError:
        interrupted = True  # the client went away
    finally:
        for stream in (reader, writer):
            with contextlib.suppress(OSError):
                stream.close()
    return not interrupted


def _run(
    request: dict, writer, conn, runner_class, base_env: dict, base_cwd: str
) -> tuple[int, bool]:
    """dbt with the request's arguments, environment and folder, its output to `writer`;
    (exit code as dbt's command line gives it, interrupted)."""
    finished, interrupted = threading.Event(), threading.Event()
    threading.Thread(
        target=_stop_when_client_leaves, args=(conn, finished, interrupted), daemon=True
    ).start()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = writer
    code = 2
    try:
        code, stopped = invoke_dbt(runner_class, request["argv"], request["results_file"])
        if stopped:
            interrupted.set()
    except KeyboardInterrupt:
        interrupted.set()
    finally:
        finished.set()
        sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(base_env)  # the build's secrets go with it
        os.chdir(base_cwd)
    return code, interrupted.is_set()


def invoke_dbt(runner_class, argv: list[str], results_file: str) -> tuple[int, bool]:
    """`dbt <argv>` through dbt's runner, run_results.json written to results_file; (exit
    code as dbt's command line gives it: 0, 1 when a node failed, 2 when dbt could not run;
    whether it was interrupted)."""
    outcome = runner_class().invoke(argv)
    if outcome.result is not None and hasattr(outcome.result, "write"):
        outcome.result.write(results_file)
    code = 0 if outcome.success else 1 if outcome.exception is None else 2
    return code, isinstance(outcome.exception, KeyboardInterrupt)


def _stop_when_client_leaves(
    conn: socket.socket, finished: threading.Event, interrupted: threading.Event
) -> None:
    """The client sends nothing after its request: end of stream means it is gone."""
    import _thread

    try:
        gone = conn.recv(1) == b""
    except OSError:
        gone = True
    if gone and not finished.is_set():
        interrupted.set()
        _thread.interrupt_main()  # dbt cancels its queries on KeyboardInterrupt


def _say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", file=sys.__stderr__, flush=True)


def _daemonize() -> None:
    """Fork: the parent returns to its caller at once; the child leaves its session."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()


def _exit_on_term(signum, frame) -> None:
    raise SystemExit(f"signal {signum}")


if __name__ == "__main__":
    import signal

    socket_file, idle_seconds = Path(sys.argv[1]), float(sys.argv[2])
    _daemonize()
    signal.signal(signal.SIGTERM, _exit_on_term)
    _say(f"dbt server {os.getpid()} starts on {socket_file}")
    serve(socket_file, idle_seconds)
    logging.shutdown()
    sys.__stderr__.flush()
    os._exit(0)  # skip tearing down dbt's objects
