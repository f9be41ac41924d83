"""The embedded local PostgreSQL used when NBA_ELT_DATABASE_URL is unset.

A cluster made with the server binaries (initdb + pg_ctl) under a project folder. The
system's binaries are preferred (NBA_ELT_PG_BIN, /usr/lib/postgresql/*/bin, PATH); without
them, those of the `pgserver` wheel (PostgreSQL 16, part of the base install where it has
a wheel: Linux x86-64 and macOS, Python 3.11-3.12). The cluster listens on 127.0.0.1 only, on a fixed non-default port, with trust
authentication (it is reachable from this machine alone). PostgreSQL refuses to run
as root, so when the caller is root the server runs as an unprivileged OS user
(`postgres` if it exists, else `nobody`), and the cluster lives where that user can
reach it.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nba_elt.errors import LocalDbError

log = logging.getLogger(__name__)

DATABASE_NAME = "nba_elt"
SUPERUSER = "postgres"
UNPRIVILEGED_USERS = ("postgres", "nobody")
INSTALL_HINT = (
    "No PostgreSQL server binaries (initdb, pg_ctl) were found, and the pgserver wheel that "
    "`pip install` brings on Linux x86-64 and macOS (Python 3.11-3.12) is not installed. "
    "Install the server binaries (Debian/Ubuntu: `apt-get install postgresql-15`; macOS: "
    "`brew install postgresql@15`), or point NBA_ELT_PG_BIN at the folder that holds them, "
    "or set NBA_ELT_DATABASE_URL to an existing database, or use docker/compose.yaml."
)
SYSTEM_PG_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: <root>/<major>/bin


def pip_pg_bin() -> Path | None:
    """pgserver's bin folder (its wheel ships the PostgreSQL 16 binaries), when installed.

    Found without importing pgserver: only its files are used.
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def find_pg_bin(user: pwd.struct_passwd | None = None) -> Path:
    """The folder holding initdb and pg_ctl: NBA_ELT_PG_BIN, Debian's layout, PATH, then
    pgserver's (copied where `user`, the server's OS user when we are root, can run it)."""
    explicit = os.environ.get("NBA_ELT_PG_BIN")
    candidates: list[Path] = [Path(explicit)] if explicit else []
    candidates += sorted(  # Debian's, the newest major first
        SYSTEM_PG_ROOT.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    pip_bin = pip_pg_bin()
    if pip_bin is None or not (pip_bin / "initdb").exists():
        raise LocalDbError(INSTALL_HINT)
    if user is not None and not _traversable_by(pip_bin, user):
        return _reachable_copy(pip_bin)
    return pip_bin


def _reachable_copy(pip_bin: Path) -> Path:
    """pgserver's install copied under /var/tmp (e.g. from a venv in /root, which the
    server's user cannot enter), with the wheel's bundled libraries at the same relative
    place (the binaries find them through $ORIGIN/../../../pgserver.libs)."""
    package = pip_bin.parent.parent  # site-packages/pgserver
    digest = hashlib.sha1(str(package).encode()).hexdigest()[:10]
    target = Path("/var/tmp") / f"nba_elt-pgserver-{digest}"
    copied_bin = target / "pgserver" / "pginstall" / "bin"
    if not (copied_bin / "pg_ctl").exists():
        log.info("copying pgserver's PostgreSQL binaries to %s", target)
        staging = target.with_name(target.name + f".{os.getpid()}")
        shutil.copytree(package / "pginstall", staging / "pgserver" / "pginstall")
        libs = package.parent / "pgserver.libs"
        if libs.exists():
            shutil.copytree(libs, staging / "pgserver.libs")
        for folder in [staging, *staging.rglob("*")]:
            if folder.is_dir():
                os.chmod(folder, 0o755)
        try:
            staging.rename(target)
        except OSError:  # another process copied it first
            shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


def _run_as_user() -> pwd.struct_passwd | None:
    """The OS user the server must run as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise LocalDbError(
        "Running as root, and no unprivileged user (postgres or nobody) exists to run "
        "PostgreSQL. Create one (`useradd postgres`) or run as a normal user."
    )


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """True when `user` can reach `path` (every existing ancestor is searchable)."""
    for folder in [path, *path.parents]:
        if not folder.exists():
            continue
        st = folder.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == user.pw_gid:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


@dataclass
class LocalDb:
    """One embedded cluster: its folder and port."""

    base_dir: Path
    port: int
    fast_and_unsafe: bool = False  # fsync off: for throwaway test clusters only

    def __post_init__(self) -> None:
        self.base_dir = Path(self.base_dir).resolve()
        self.user = _run_as_user()
        if self.user is not None and not _traversable_by(self.base_dir.parent, self.user):
            # e.g. a checkout under /root: the server user cannot reach it.
            digest = hashlib.sha1(str(self.base_dir).encode()).hexdigest()[:10]
            self.home = Path("/var/tmp") / f"nba_elt-localdb-{digest}"
        else:
            self.home = self.base_dir

    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def url(self, database: str = DATABASE_NAME) -> str:
        # libpq form, so the same URL works for psql and for SQLAlchemy (psycopg2 default)
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- process plumbing -------------------------------------------------------------

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        preexec = None
        if self.user is not None:
            user = self.user
            env["HOME"] = str(self.home)

            def preexec() -> None:
                os.setgid(user.pw_gid)
                os.setgroups([])
                os.setuid(user.pw_uid)

        proc = subprocess.run(
            args, cwd=self.home, env=env, preexec_fn=preexec, capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise LocalDbError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): {' | '.join(detail)}. "
                f"Server log: {self.log_file}"
            )
        return proc

    def _own(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise up/down between processes (two tasks starting at once)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._own(self.home)
        with open(self.home / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- lifecycle ----------------------------------------------------------------

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        bin_dir = find_pg_bin(self.user)
        proc = self._run([str(bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False)
        return proc.returncode == 0

    def _initdb(self, bin_dir: Path) -> None:
        log.info("initialising local PostgreSQL cluster in %s", self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.data_dir)
        os.chmod(self.data_dir, 0o700)
        initdb = [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER]
        self._run([*initdb, "-A", "trust", "-E", "UTF8", "--no-locale"])
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            "unix_socket_directories = ''",
            "max_connections = 100",
            "timezone = 'UTC'",
        ]
        if self.fast_and_unsafe:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# nba_elt embedded cluster\n" + "\n".join(settings) + "\n")

    def _clear_stale_pid(self) -> None:
        """After a crash postmaster.pid may name a dead (or reused) process."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = None
        alive = False
        if pid:
            try:
                os.kill(pid, 0)
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                alive = b"postgres" in cmdline or b"postmaster" in cmdline
            except (ProcessLookupError, FileNotFoundError):
                alive = False
            except PermissionError:
                alive = True
        if not alive:
            log.warning("removing stale %s (pid %s is not a running server)", pid_file, pid)
            pid_file.unlink()

    def _refuse_a_taken_port(self) -> None:
        """Before starting: another program (often another clone's embedded Postgres)
        listening on the port would make pg_ctl fail with only "could not start server"."""
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError as exc:
                raise LocalDbError(
                    f"cannot start the local PostgreSQL of {self.base_dir}: 127.0.0.1:{self.port} "
                    f"is already in use ({exc.strerror}), perhaps by another clone's embedded "
                    "Postgres. Stop that server, or set NBA_ELT_LOCALDB_PORT to a free port"
                ) from None

    def _refuse_another_port(self) -> None:
        """A running cluster started with another NBA_ELT_LOCALDB_PORT: connecting to this
        port would reach whatever else listens there (another clone's cluster)."""
        try:
            running = int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return  # no port on record (an old server): nothing to compare
        if running != self.port:
            raise LocalDbError(
                f"the local PostgreSQL of {self.base_dir} is running on port {running}, not on "
                f"{self.port} (NBA_ELT_LOCALDB_PORT): set NBA_ELT_LOCALDB_PORT={running}, or "
                f"stop it (`invoke db.down`) and the next task starts it on {self.port}"
            )

    def up(self) -> str:
        """Start the cluster (initialising it on first use); harmless when running."""
        bin_dir = find_pg_bin(self.user)
        with self._lock():
            if not self.is_initialized():
                self._initdb(bin_dir)
            if not self.is_running():
                self._refuse_a_taken_port()
                self._clear_stale_pid()
                self.log_file.touch(exist_ok=True)
                self._own(self.log_file)
                pg_ctl = [str(bin_dir / "pg_ctl"), "start", "-D", str(self.data_dir)]
                self._run(
                    [*pg_ctl, "-l", str(self.log_file), "-w", "-t", "60", "-o", f"-p {self.port}"]
                )
            else:
                self._refuse_another_port()
            self._ensure_database()
        return self.url()

    def _ensure_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres"
                )
                break
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise LocalDbError(
                        f"local PostgreSQL on 127.0.0.1:{self.port} does not answer: {exc}. "
                        f"Server log: {self.log_file}"
                    ) from None
                time.sleep(0.2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (DATABASE_NAME,))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{DATABASE_NAME}"')
        finally:
            conn.close()

    def down(self) -> bool:
        """Stop the cluster. Returns False when it was not running."""
        if not self.is_initialized():
            return False
        bin_dir = find_pg_bin(self.user)
        with self._lock():
            if not self.is_running():
                return False
            self._run(
                [str(bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"]
            )
        return True

    def destroy(self) -> None:
        """Stop the cluster if needed and delete its files."""
        try:
            self.down()
        except LocalDbError:
            pid_file = self.data_dir / "postmaster.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().splitlines()[0])
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.home, ignore_errors=True)

    def status(self) -> dict:
        return {
            "initialized": self.is_initialized(),
            "running": self.is_running(),
            "data_dir": str(self.data_dir),
            "port": self.port,
            "url": self.url(),
            "run_as": self.user.pw_name if self.user else None,
        }


def from_settings(settings) -> LocalDb:
    return LocalDb(Path(settings.localdb_dir), settings.localdb_port)


def ensure_running(settings) -> str:
    """Start the project's local cluster when needed and return its URL."""
    return from_settings(settings).up()
