"""Backfill runs: the request, the plan, the unit runner and the ops ledger."""
