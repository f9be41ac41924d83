"""The CLI is a layer on top: no module outside nba_elt/cli imports nba_elt.cli or rich."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = [ROOT / "nba_elt", ROOT / "ml"]
CLI = ROOT / "nba_elt" / "cli"
FORBIDDEN = ("nba_elt.cli", "rich")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an `import` / `from ... import` statement names, anywhere in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from nba_elt import cli` names the package too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def library_files() -> list[Path]:
    return sorted(
        p for base in LIBRARY for p in base.rglob("*.py") if CLI not in p.parents and p != CLI
    )


def test_the_walk_sees_what_it_must_catch(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from nba_elt.cli import console\n"
        "import rich.table\nfrom nba_elt import cli\nfrom nba_elt.config import Settings\n"
    )
    bad = sorted(m for _, m in imported_modules(sample) if _forbidden(m))
    assert bad == ["nba_elt.cli", "nba_elt.cli", "nba_elt.cli.console", "rich.table"]


def test_no_library_module_imports_the_cli_or_rich():
    files = library_files()
    assert len(files) > 30 and any(p.name == "app.py" for p in files)
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if _forbidden(module)
    ]
    assert offenders == []


def test_importing_nba_elt_stays_cheap():
    import subprocess
    import sys

    code = (
        "import sys, nba_elt; "
        "heavy = [m for m in ('pandas', 'sqlalchemy', 'rich', 'nba_elt.cli', 'ml.app') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
