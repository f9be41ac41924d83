"""The `@task` decorator of tasks.py: invoke's, without automatic short flags.

Invoke gives every flag the first free letter of its name by default, so `-h` meant
`--refresh` on backfill and `-d` meant `--date`, `--docker` or `--dry-run` depending on the
task. Here `-h` is always help, and only the flags of SHORT_FLAGS get a short form: the
same letter means the same thing in every task that has the flag. The flags most tasks have
(--json, --docker, --verbose) get their help text here, unless the task gives its own.
"""

from __future__ import annotations

import inspect
from typing import Any

import invoke

SHORT_FLAGS: dict[str, str] = {
    "date": "d",
    "sources": "s",
    "dry_run": "n",
    "verbose": "v",
    "json": "j",
    "yes": "y",
}
COMMON_HELP: dict[str, str] = {
    "verbose": "stream dbt's own output (default: a progress line, problems and the summary)",
    "json": "print one JSON summary line last, on stdout",
    "docker": "run the same command inside docker/compose.yaml's app service",
}


class Task(invoke.Task):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)
        params = inspect.signature(self.body).parameters
        self.help = {k: v for k, v in COMMON_HELP.items() if k in params} | self.help

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[invoke.Argument]:
        # Invoke pops each flag's help text while it builds the arguments: a second parser
        # in the same process (a test, a Program run twice) would show flags without help.
        kept = dict(self.help)
        try:
            return super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short and short not in taken_names:
            opts["names"] = [*opts["names"], short]
        return opts


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke.task with this module's Task class (no automatic short flags)."""
    kwargs.setdefault("klass", Task)
    return invoke.task(*args, **kwargs)
