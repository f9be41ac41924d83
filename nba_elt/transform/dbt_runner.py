"""dbt's own runner (dbtRunner): what a new dbt process runs, and an in-process build.

dbt's command line run through dbtRunner: same flags, output and exit codes (0, 1 when a
node failed, 2 when dbt could not run). The builds write no manifest.json (--no-write-json;
~0.45 s a build, nothing here reads it), so run_results.json is written here from the
result dbt returns. dbt-core is not safe for two invocations at once in one process: an
in-process build holds a lock for its whole run.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

# A new dbt process: this interpreter runs dbt's runner, then ends with os._exit once its
# output is flushed, skipping the ~0.5 s teardown of dbt's objects.
NEW_PROCESS_SCRIPT = """
import logging, os, sys
from nba_elt.transform.dbt_runner import invoke_dbt
try:
    code = invoke_dbt(sys.argv[2:], sys.argv[1])
except KeyboardInterrupt:
    code = 2
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""

_one_build_at_a_time = threading.Lock()


def invoke_dbt(argv: list[str], results_file: str | Path) -> int:
    """`dbt <argv>` through dbtRunner, run_results.json written to results_file; the exit
    code dbt's command line would give. A Ctrl-C during the build is raised again."""
    from dbt.cli.main import dbtRunner

    outcome = dbtRunner().invoke(argv)
    if outcome.result is not None and hasattr(outcome.result, "write"):
        outcome.result.write(str(results_file))
    if isinstance(outcome.exception, KeyboardInterrupt):
        raise KeyboardInterrupt
    return 0 if outcome.success else 1 if outcome.exception is None else 2


def build(
    argv: list[str], env: Mapping[str, str], results_file: Path, sink: Callable[[str], None]
) -> int:
    """`dbt <argv>` in this process with `env` as its environment, its output lines to
    `sink`; its exit code. One at a time: a second caller waits for the first."""
    with _one_build_at_a_time, _environment(env), _lines_to(sink):
        return invoke_dbt(argv, results_file)


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """dbt reads its profile from os.environ: the build's, then this process's again (the
    build's password goes with it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _LineWriter(io.TextIOBase):
    """A text stream that hands each complete line to `sink`."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink, self._pending = sink, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *complete, self._pending = (self._pending + text).split("\n")
        for line in complete:
            self._sink(line + "\n")
        return len(text)

    def close(self) -> None:
        if self._pending:
            self._sink(self._pending)
            self._pending = ""
        super().close()


@contextmanager
def _lines_to(sink: Callable[[str], None]) -> Iterator[None]:
    """dbt prints to sys.stdout as it finds it when each build starts: this build's lines
    go to `sink`, as a new process's lines do."""
    writer = _LineWriter(sink)
    try:
        with redirect_stdout(writer), redirect_stderr(writer):
            yield
    finally:
        writer.close()
