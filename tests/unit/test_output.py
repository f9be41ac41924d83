"""The CLI's output without a terminal (cron, CI, pipes) and dbt's lines (nba_elt/cli/output.py).

The dbt lines are real lines of `dbt build` 1.x output as the test suite's builds print them.
"""

from __future__ import annotations

import io

from nba_elt.cli.output import CliConsole, DbtLines

DBT_OUTPUT = """\
18:20:07  Running with dbt=1.10.13
18:20:07  Registered adapter: postgres=1.9.1
18:20:08  Found 17 models, 2 seeds, 114 data tests, 4 unit tests, 5 sources, 1 macro
18:20:08  1 of 137 START seed file staging.bbref_team_codes ........................... [RUN]
18:20:08  1 of 137 OK loaded seed file staging.bbref_team_codes ....................... [INSERT 30 in 0.12s]
18:20:08  28 of 137 OK created sql incremental model facts.fact_pbp_data ................. [SELECT 0 in 0.26s]
18:20:09  69 of 137 WARN 1464 relationships_fact_pbp_data_game_id__game_id__ref_fact_schedule_data_  [WARN 1464 in 0.16s]
18:20:09  70 of 137 ERROR creating sql table model marts.standings ....................... [ERROR in 0.05s]
18:20:46  Finished running 2 seeds, 17 models, 114 data tests in 0 hours 0 minutes and 38.51 seconds (38.51s).
18:20:46  Done. PASS=135 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=137
"""


def _console(monkeypatch) -> tuple[CliConsole, io.StringIO]:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    return CliConsole(file=out, highlight=False), out


def test_without_a_terminal_lines_are_plain_and_at_most_200_characters(monkeypatch):
    from rich.markup import escape
    from rich.table import Table

    console, out = _console(monkeypatch)
    url = "https://www.basketball-reference.com/boxscores/pbp/201801010TOR.html"
    console.print(f"[red]failed:[/] {url} " + "word " * 60 + escape("[x]"))
    console.rule("daily: refresh")
    table = Table(title="backfill run 3")
    for column in ("source", "date/game", "error / reason"):
        table.add_column(column)
    table.add_row("pbp", "201801010TOR", f"[red]page is cut[/]\n{url}")
    table.add_row("pbp", "201801020TOR", "x" * 300)
    console.print(table)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"failed: {url} word") and lines[1].startswith("  word")
    assert lines[1].endswith("[x]")  # escaped text stays as it was
    assert lines[2] == "== daily: refresh =="
    assert lines[3] == (
        f"backfill run 3: source=pbp date/game=201801010TOR error / reason=page is cut, {url}"
    )
    assert lines[4].startswith("backfill run 3: source=pbp date/game=201801020TOR error")
    assert len(lines) == 5 and max(map(len, lines)) <= 200 and lines[4].endswith("...")
    assert "\x1b[" not in out.getvalue()


def test_dbt_lines_show_problems_and_the_final_count_only(monkeypatch):
    console, out = _console(monkeypatch)
    sink = DbtLines(console)
    for line in DBT_OUTPUT.splitlines(keepends=True):
        sink(line)
    sink.close()

    assert out.getvalue().splitlines() == [
        "dbt 69/137 WARN 1464 relationships_fact_pbp_data_game_id__game_id__ref_fact_schedule_"
        "data_ [WARN 1464 in 0.16s]",
        "dbt 70/137 ERROR creating sql table model marts.standings [ERROR in 0.05s]",
        "dbt: Done. PASS=135 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=137",
    ]
    assert sink.nodes == 4


def test_verbose_streams_every_dbt_line_as_it_is(monkeypatch):
    console, out = _console(monkeypatch)
    sink = DbtLines(console, verbose=True)
    for line in DBT_OUTPUT.splitlines(keepends=True):
        sink(line)
    assert out.getvalue() == DBT_OUTPUT


def _outcomes(succeeded: int):
    from nba_elt.ingest.runner import UnitOutcome

    units = [
        UnitOutcome("pbp", f"19900{n:03d}0GSW", None, "succeeded", rows_written=480, seconds=0.02)
        for n in range(succeeded)
    ]
    units.insert(5, UnitOutcome("pbp", "199001010DEN", None, "failed", error="page is truncated"))
    return units


def test_a_long_run_shows_its_succeeded_units_as_one_row_and_each_other_unit(monkeypatch):
    from nba_elt.cli import render
    from nba_elt.ingest.runner import RunReport

    console, out = _console(monkeypatch)
    monkeypatch.setattr(render, "console", console)
    render.print_run(RunReport(run_id=7, outcomes=_outcomes(60)))
    text = out.getvalue()
    assert "60 units (199000000GSW .. 199000590GSW)" in text
    assert str(60 * 480) in text  # the rows of the grouped units
    assert "199001010DEN" in text and "page is truncated" in text
    assert "199000030GSW" not in text  # a succeeded unit is not listed alone
    assert "ops.backfill_units where run_id = 7" in text


def test_a_short_run_lists_every_unit(monkeypatch):
    from nba_elt.cli import render
    from nba_elt.ingest.runner import RunReport

    console, out = _console(monkeypatch)
    monkeypatch.setattr(render, "console", console)
    render.print_run(RunReport(run_id=8, outcomes=_outcomes(10)))
    text = out.getvalue()
    assert "199000030GSW" in text and "199001010DEN" in text
    assert "units (" not in text


def test_every_result_printer_names_a_result_type_that_exists():
    """render() finds a printer by the result type's name, without importing the type."""
    import importlib

    from nba_elt.cli.render import RESULT_PRINTERS
    from nba_elt.results import Result

    for path in RESULT_PRINTERS:
        module, name = path.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, Result) and cls.__qualname__ == name, path


def test_a_refresh_renders_without_importing_the_backfill_runner_or_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys; from nba_elt.cli.render import render; "
        "from nba_elt.transform.dbt import RefreshResult; "
        "render(RefreshResult(0, 'ok', {})); "
        "print(sorted(m for m in ('sklearn', 'pandas', 'nba_elt.ingest.runner') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
