"""The commands and SQL that README.md and docs/*.md show in code blocks (not inline code).

A command is a code-block line that starts with `invoke `, `nba-elt ` or `python -m nba_elt`
(after an optional folder, as in `.venv/bin/invoke`); its comment and what the shell does
with its output (`>>`, `|`, `&&`) are cut off. A line with `[`, `...` or ` | ` between its
arguments is a synopsis, not a command: only its flags are checked.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(?:[\w./-]*/)?(invoke|nba-elt|python -m nba_elt) (.*)$")
FENCE = re.compile(r"^\s*```(\w*)")
SHELL_OPERATORS = ("|", "||", "&&", ";", ">", ">>", "2>", "2>>", "<")


@dataclass(frozen=True)
class DocCommand:
    doc: str  # path relative to the repository
    line: int
    text: str  # as the doc shows it, comment removed
    binary: str  # invoke | nba-elt | python -m nba_elt
    args: tuple[str, ...]  # the task and its arguments
    synopsis: bool

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def task(self) -> str:
        return self.args[0]

    @property
    def flags(self) -> list[str]:
        return [a.split("=")[0] for a in self.args if a.startswith("--")]


@dataclass(frozen=True)
class CodeBlock:
    doc: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _code_lines(text: str):
    """(line number, fence language or None for an indented block, line) of every code line."""
    fence: str | None = None
    previous_blank = True
    indented = False
    for number, line in enumerate(text.splitlines(), 1):
        opening = FENCE.match(line)
        if opening:
            fence = None if fence is not None else opening.group(1) or "text"
            continue
        if fence is not None:
            yield number, fence, line
            continue
        # an indented block starts after a blank line; a list item's continuation does not
        indented = line.startswith("    ") and (previous_blank or indented)
        if indented:
            yield number, None, line
        previous_blank = not line.strip()
        if line.strip():
            indented = indented and line.startswith("    ")


def _command(doc: str, number: int, line: str) -> DocCommand | None:
    match = COMMAND.match(line.strip())
    if not match:
        return None
    binary, rest = match.groups()
    rest = re.sub(r"\s+#.*$", "", rest).strip()
    synopsis = bool(re.search(r"\[|\.\.\.| \| ", rest))
    words = shlex.split(rest.replace("[", " ").replace("]", " ")) if synopsis else shlex.split(rest)
    for index, word in enumerate(words):
        if synopsis:
            break
        if word in SHELL_OPERATORS or word.startswith((">", "2>")):
            words = words[:index]
            break
    text = f"{binary} {rest}"
    return DocCommand(doc, number, text, binary, tuple(words), synopsis)


def doc_commands() -> list[DocCommand]:
    found = []
    for path in DOCS:
        doc = str(path.relative_to(ROOT))
        for number, _, line in _code_lines(path.read_text()):
            command = _command(doc, number, line)
            if command:
                found.append(command)
    return found


def fenced_blocks(language: str) -> list[CodeBlock]:
    """Every block fenced ```<language> (exactly that word) of the docs."""
    found = []
    for path in DOCS:
        doc = str(path.relative_to(ROOT))
        text = path.read_text()
        for match in re.finditer(rf"^```{language}\n(.*?)^```", text, re.S | re.M):
            found.append(CodeBlock(doc, text[: match.start()].count("\n") + 1, match.group(1)))
    return found


def sql_blocks() -> list[CodeBlock]:
    return fenced_blocks("sql")


def indented_python_blocks() -> list[CodeBlock]:
    """The indented code blocks that start with `import` (Python shown without a fence)."""
    found = []
    for path in DOCS:
        doc = str(path.relative_to(ROOT))
        block: list[tuple[int, str]] = []
        for number, fence, line in [*_code_lines(path.read_text()), (0, None, "")]:
            if (
                fence is None
                and line.startswith("    ")
                and (not block or block[-1][0] == number - 1)
            ):
                block.append((number, line[4:]))
                continue
            if block and block[0][1].startswith("import "):
                found.append(CodeBlock(doc, block[0][0], "\n".join(text for _, text in block)))
            block = [(number, line[4:])] if fence is None and line.startswith("    ") else []
    return found
