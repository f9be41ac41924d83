"""What a pipeline step returns: an exit code, a sentence, and a JSON-ready summary.

Every public function that runs a step (backfill, refresh, predict, verify, reboot, gaps,
daily, demo, train) returns a subclass of `Result` with its typed data besides; nothing
prints. `nba_elt.cli` turns a Result into output and an exit code (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nba_elt.errors import EXIT_OK, NbaEltError

# The one status vocabulary of every task's JSON line and every step, from the exit code
# (docs/architecture.md "Command line").
STATUS_BY_EXIT_CODE = {0: "succeeded", 75: "not_available", 2: "bad_input"}


def status_of(exit_code: int) -> str:
    """succeeded / not_available / bad_input / failed (every other code, 130 included)."""
    return STATUS_BY_EXIT_CODE.get(exit_code, "failed")


@dataclass
class Result:
    exit_code: int = EXIT_OK
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


def error_result(exc: NbaEltError, prefix: str = "", **summary: Any) -> Result:
    """A named error as a Result: its exit code and `Type: message` (after `prefix: `)."""
    head = f"{prefix}: " if prefix else ""
    return Result(exc.exit_code, f"{head}{type(exc).__name__}: {exc}", dict(summary))
