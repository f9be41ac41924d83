"""The examples of docs/python-api.md run, in order, against the recorded site and Postgres.

Blocks fenced ```python run in the fast suite; blocks fenced ```python slow build dbt
models and run (after the others, in page order) in the slow suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python( slow)?\n(.*?)^```", re.S | re.M)


def blocks(*, slow: bool) -> list[str]:
    found = [(bool(s), code) for s, code in BLOCK.findall(DOC.read_text())]
    return [code for is_slow, code in found if slow or not is_slow]


def _run(code_blocks: list[str]) -> dict:
    namespace: dict = {}
    for index, code in enumerate(code_blocks):
        exec(compile(code, f"{DOC.name} block {index + 1}", "exec"), namespace)  # noqa: S102
    return namespace


def test_the_page_has_examples_for_every_function():
    text = "\n".join(blocks(slow=True))
    for name in (
        "get_schedule", "get_boxscores", "get_pbp", "write_upsert", "backfill", "refresh",
        "predict", "verify", "reboot_dashboard", "daily",
    ):  # fmt: skip
        assert f"nba_elt.{name}(" in text, f"docs/python-api.md has no example of {name}"


def test_fast_examples_run(bbref_site, engine, capfd):
    namespace = _run(blocks(slow=False))
    assert len(namespace["box"]) == 82
    assert capfd.readouterr().out == ""


@pytest.mark.slow
def test_all_examples_run_with_dbt(bbref_site, engine, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("NBA_ELT_DBT_TARGET_PATH", str(tmp_path / "dbt-target"))
    namespace = _run(blocks(slow=True))
    assert namespace["seen"].ok
    # refresh, predict, verify, daily: dbt's output is logged, nothing is printed
    assert capfd.readouterr() == ("", "")
