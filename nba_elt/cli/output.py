"""How the CLI writes to a terminal and to everything else (cron, CI, a pipe, a log file).

On a terminal: colours, rich tables fitted to the window, a live progress line for dbt.
Without one: plain text, one event per line, never wrapped (a URL or a number is never
split), no colours, no progress animation; logs as `HH:MM:SS LEVEL message`.

dbt's own output is hidden unless --verbose: `DbtLines` receives each line of it (through
nba_elt.transform.build.dbt_output) and shows a progress line per model/test on a terminal,
the warnings, errors and dbt's final count everywhere; the summary table and the path of
dbt's full log are printed after the build.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.markup import escape

# Wide enough that no line of ours is ever wrapped; tables never expand to it.
UNWRAPPED_WIDTH = 10_000


class CliConsole(Console):
    """A rich Console that, off a terminal, neither wraps nor draws full-width rules."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._plain_width = not self.is_terminal and not os.environ.get("COLUMNS")

    @property
    def size(self) -> ConsoleDimensions:  # type: ignore[override]
        size = super().size
        return ConsoleDimensions(UNWRAPPED_WIDTH, size.height) if self._plain_width else size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.size.width

    @width.setter
    def width(self, value: int) -> None:
        Console.width.fset(self, value)  # type: ignore[attr-defined]

    def rule(self, title: Any = "", *args: Any, **kwargs: Any) -> None:
        if self.is_terminal:
            super().rule(title, *args, **kwargs)
        else:
            self.print(f"== {title} ==" if title else "==")


def make_console() -> CliConsole:
    # soft_wrap: print() never inserts line breaks; tables still lay out their cells
    return CliConsole(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record is emitted, not as it was when the
    handler was made: a redirected or replaced stderr (pytest's capture) never leaves the
    handler writing to a closed file."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def logging_handler(console: Console) -> logging.Handler:
    """RichHandler on a terminal; one plain line per event otherwise."""
    if console.is_terminal:
        from rich.logging import RichHandler

        return RichHandler(console=console, show_path=False, rich_tracebacks=False)
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    return handler


# "12:00:01  12 of 137 OK created sql view model staging.stg_nba__schedule .... [CREATE VIEW in 0.06s]"
_RESULT = re.compile(r"^\S+\s+(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)\b\s*(.*)$")
_DONE = re.compile(r"^\S+\s+(Done\. .*)$")
_PROBLEMS = ("WARN", "ERROR", "FAIL")


def _tidy(text: str) -> str:
    """'created sql view model staging.x ..... [OK in 0.06s]' -> 'created sql view model staging.x [OK in 0.06s]'."""
    return re.sub(r"\s{2,}", " ", re.sub(r"\s*\.{3,}\s*", " ", text)).strip()


class DbtLines:
    """Receives dbt's output line by line; shows what an operator needs of it."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.status: Any = None
        self.nodes = 0

    def __call__(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if self.verbose:
            self.console.out(line, highlight=False)
            return
        if match := _RESULT.match(line):
            index, total, state, what = match.groups()
            self.nodes += 1
            if state in _PROBLEMS:
                self._print(f"dbt {index}/{total} {state} {_tidy(what)}")
            elif self.console.is_terminal:
                self._progress(f"dbt {index}/{total} {state} {_tidy(what)}")
        elif match := _DONE.match(line):
            self._print(f"dbt: {match.group(1)}")

    def _progress(self, text: str) -> None:
        if self.status is None:
            self.status = self.console.status(escape(text))
            self.status.start()
        else:
            self.status.update(escape(text))

    def _print(self, text: str) -> None:
        self.close()
        self.console.print(escape(text))

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
