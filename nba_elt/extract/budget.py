"""NBA_ELT_REQUESTS_PER_MINUTE as ONE budget per machine and per host.

Every process on the machine that talks to a host shares one file under
``NBA_ELT_STATE_DIR/request-budget/<host>``: it holds the earliest time (epoch seconds)
the next request may start. A process takes an exclusive ``flock`` on it for the few
microseconds it needs to read and move that time forward by one interval, then sleeps
outside the lock. So two backfills at 30/minute make 30 requests a minute together, not 60.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from nba_elt.errors import ConfigError

log = logging.getLogger(__name__)

# A little slack over 60/rpm, so that no closed 60 s window ever holds rpm + 1 starts.
INTERVAL_SLACK = 1.01
LOCK_WAIT_S = 30.0  # the lock is held for microseconds; this only bounds a pathological wait
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class RequestBudget:
    """A minimum interval between request starts toward one host, shared machine-wide."""

    def __init__(self, state_dir: str | Path) -> None:
        self.folder = Path(state_dir) / "request-budget"

    def _file(self, host: str) -> Path:
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True, exist_ok=True)
                # every user of the machine shares the budget (sticky, like /tmp)
                with contextlib.suppress(OSError):
                    self.folder.chmod(0o1777)
        except OSError as exc:
            raise ConfigError(
                f"NBA_ELT_STATE_DIR: cannot create {self.folder} for the request budget "
                f"({exc.strerror or exc})"
            ) from None
        return self.folder / (_UNSAFE.sub("_", host.lower()) or "host")

    def reserve(self, host: str, per_minute: float) -> float:
        """Claim the next slot toward ``host``; the seconds to wait before using it."""
        interval = 60.0 / per_minute * INTERVAL_SLACK
        path = self._file(host)
        try:
            with open(
                os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+", encoding="ascii"
            ) as handle:
                _lock(handle, path)
                handle.seek(0)
                try:
                    next_at = float(handle.read().strip() or 0)
                except ValueError:  # a damaged file: start afresh
                    next_at = 0.0
                now = time.time()
                delay = max(0.0, next_at - now)
                handle.seek(0)
                handle.truncate()
                handle.write(repr(max(now, next_at) + interval))
                handle.flush()
        except OSError as exc:
            raise ConfigError(
                f"NBA_ELT_STATE_DIR: cannot use the request budget file {path} "
                f"({exc.strerror or exc})"
            ) from None
        return delay

    def wait(self, host: str, per_minute: float, sleep: Callable[[float], None]) -> None:
        delay = self.reserve(host, per_minute)
        if delay > 0:
            log.debug("request budget for %s: waiting %.2fs", host, delay)
            sleep(delay)


def _lock(handle, path: Path) -> None:
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when closed
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if time.monotonic() > deadline:
                raise ConfigError(f"the request budget file {path} stayed locked") from None
            time.sleep(0.005)
