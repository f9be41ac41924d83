"""How the CLI writes to a terminal and to everything else (cron, CI, a pipe, a log file).

On a terminal: colours, rich tables fitted to the window, a live progress line for dbt.
Without one: plain text, one event per line (a table is one line per row, `title:
column=value ...`), no line longer than 200 characters (a long sentence is wrapped at a
space, a table row shortened: every unit's full outcome is in --json), no colours, no box
drawing, no progress animation; logs as `HH:MM:SS LEVEL message`.

dbt's own output is hidden unless --verbose: `DbtLines` receives each line of it (through
nba_elt.transform.build.dbt_output) and shows a progress line per model/test on a terminal,
the warnings, errors and dbt's final count everywhere; the summary table and the path of
dbt's full log are printed after the build.
"""

from __future__ import annotations

import logging
import re
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

PLAIN_WIDTH = 200


def _plain(cell: Any) -> str:
    text = Text.from_markup(cell).plain if isinstance(cell, str) else getattr(cell, "plain", "")
    return ", ".join(part.strip() for part in text.splitlines() if part.strip())


def _wrapped(text: str) -> list[str]:
    """Lines of at most 200 characters, broken at a space; a continuation is indented."""
    return [
        part
        for line in text.splitlines() or [""]
        for part in textwrap.wrap(line, PLAIN_WIDTH, subsequent_indent="  ", break_on_hyphens=False)
        or [""]
    ]


def one_line(text: str) -> str:
    """At most 200 characters: a longer event is shortened (--json holds it whole)."""
    return text if len(text) <= PLAIN_WIDTH else text[: PLAIN_WIDTH - 3] + "..."


def plain_rows(table: Table) -> Iterator[str]:
    """A table as one line per row: `title: column=value ...` (empty cells left out)."""
    title = _plain(table.title or "")
    headers = [_plain(column.header) for column in table.columns]
    for row in zip(*(column.cells for column in table.columns), strict=True):
        cells = [(h, _plain(cell)) for h, cell in zip(headers, row, strict=True)]
        line = " ".join(f"{h}={v}" if h else v for h, v in cells if v)
        line = f"{title}: {line}" if title else line
        yield one_line(line)


class CliConsole(Console):
    """A rich Console that, off a terminal, prints plain lines of at most 200 characters."""

    @property
    def size(self) -> ConsoleDimensions:  # type: ignore[override]
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PLAIN_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    @property
    def width(self) -> int:  # type: ignore[override]
        return self.size.width

    @width.setter
    def width(self, value: int) -> None:
        Console.width.fset(self, value)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if self.is_terminal or not all(isinstance(o, (str, Table)) for o in objects):
            return super().print(*objects, **kwargs)
        for o in objects:
            lines = plain_rows(o) if isinstance(o, Table) else _wrapped(Text.from_markup(o).plain)
            for line in lines:
                super().print(escape(line), **kwargs)

    def rule(self, title: Any = "", *args: Any, **kwargs: Any) -> None:
        if self.is_terminal:
            super().rule(title, *args, **kwargs)
        else:
            self.print(f"== {title} ==" if title else "==")


def make_console() -> CliConsole:
    return CliConsole(stderr=True, highlight=False)


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
    handler.setFormatter(_PlainFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    return handler


class _PlainFormatter(logging.Formatter):
    """One line per record, wrapped at a space past 200 characters (continuation indented)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) <= PLAIN_WIDTH and "\n" not in text:
            return text
        return "\n".join(_wrapped(text))


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
