"""`python -m nba_elt <task> ...`: the same as `nba-elt <task> ...` (nba_elt/cli/program.py)."""

from nba_elt.cli.program import main

main()
