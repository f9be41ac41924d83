"""`nba-elt`, the console script: Invoke's Program over nba_elt/cli/tasks.py.

Installed by `pip install` ([project.scripts] in pyproject.toml), it runs the tasks from any
folder; `invoke <task>` in the repository runs the same ones (tasks.py). Both keep the
exit-code contract for what Invoke's own parser refuses (a mistyped flag, a missing value):
bad input, exit 2, and with --json anywhere on the command line the `bad_input` JSON line.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version

from invoke import Exit, ParseError, Program

from nba_elt.cli import TaskResult, emit
from nba_elt.errors import EXIT_BAD_INPUT

DEVELOPER_TASKS = ("test", "bench")  # they need the repository: tasks.py, not nba-elt


def _wants_json(argv: list[str]) -> bool:
    return any(arg in ("--json", "-j") or arg.startswith("--json=") for arg in argv)


def _flag_names(text: str) -> str:
    """Invoke's `<Argument: dry_run (n)>` in a message -> `--dry-run`."""
    return re.sub(r"<Argument: (\w+)(?: \(\w\))?>", lambda m: "--" + m[1].replace("_", "-"), text)


def parse_error_result(
    exc: Exception, argv: list[str], binary: str, tasks: list[str]
) -> tuple[str, TaskResult]:
    """(the task's name, its bad-input result) for what Invoke's parser refused."""
    named = [arg for arg in argv[1:] if not arg.startswith("-")]
    task = getattr(getattr(exc, "context", None), "name", None) or (named[0] if named else binary)
    where = f"`{binary} {task} --help` lists its flags" if task in tasks else f"`{binary} --list`"
    if task in DEVELOPER_TASKS and task not in tasks:
        where = f"{task} is a developer task: run `invoke {task}` in a checkout of the repository"
    error = _flag_names(str(exc))
    message = f"BadInput: {error} ({where})"
    return task, TaskResult(EXIT_BAD_INPUT, message, {"error_type": "BadInput", "error": error})


def keep_the_contract(program_class: type[Program]) -> None:
    """Make `program_class` treat a parse error as bad input (exit 2, the JSON line)."""
    parse_tasks = program_class.parse_tasks
    if getattr(parse_tasks, "keeps_the_contract", False):
        return

    def parse_tasks_as_bad_input(self: Program) -> None:
        try:
            parse_tasks(self)
        except (ParseError, ValueError) as exc:  # ValueError: a value of the wrong type
            tasks = list(self.collection.task_names) if self.collection else []
            binary = "invoke" if self.called_as == "__main__.py" else self.called_as  # python -m
            task, result = parse_error_result(exc, self.argv, binary or "nba-elt", tasks)
            emit(task, result, _wants_json(self.argv))
            raise Exit(code=EXIT_BAD_INPUT) from None

    parse_tasks_as_bad_input.keeps_the_contract = True  # type: ignore[attr-defined]
    program_class.parse_tasks = parse_tasks_as_bad_input  # type: ignore[method-assign]


class NbaEltProgram(Program):
    pass


keep_the_contract(NbaEltProgram)


def _version() -> str:
    try:
        return version("nba-elt")
    except PackageNotFoundError:
        return "unknown"


def main(args: list[str] | None = None) -> None:
    """`nba-elt [args]` (default: the command line's); exits with the task's code."""
    from nba_elt.cli.tasks import ns

    argv = ["nba-elt", *(sys.argv[1:] if args is None else args)]  # python -m: nba-elt too
    NbaEltProgram(namespace=ns, name="nba-elt", binary="nba-elt", version=_version()).run(argv)
