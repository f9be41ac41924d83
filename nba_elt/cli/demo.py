"""`invoke demo`: the whole loop on recorded pages, each step printed as it runs."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.cli.daily import RichObserver


def demo_task() -> TaskResult:
    """`invoke demo`: backfill -> refresh -> predict -> verify offline on recorded pages."""
    import nba_elt

    return TaskResult.of(nba_elt.demo(observer=RichObserver()))
