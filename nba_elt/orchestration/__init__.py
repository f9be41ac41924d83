"""Running nba-elt under an orchestrator (docs/orchestration.md).

`nba_elt.orchestration.dagster` holds the Dagster definitions (`defs`); it needs the
`dagster` extra (`pip install -e ".[dagster]"`). Nothing here is imported by
`import nba_elt`.
"""
