"""What one `dbt build` did: its nodes and their results, read from run_results.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


@dataclass
class DbtNodeResult:
    name: str
    kind: str  # model, test, unit_test, seed, snapshot
    status: str  # success, pass, warn, fail, error, skipped
    seconds: float
    message: str = ""
    failures: int | None = None
    sql: str = field(default="", repr=False)  # a test's compiled query (compiled_code)


@dataclass
class DbtSummary:
    """What one `dbt build` did, read from target/run_results.json."""

    return_code: int
    elapsed_seconds: float
    selection: str | None
    full_refresh: bool
    nodes: list[DbtNodeResult] = field(default_factory=list)
    dbt_seconds: float | None = None  # dbt's own timer (run_results.json elapsed_time)
    log_path: str | None = None  # dbt's full log of the build (dbt.log)
    process: str = "new process"  # where dbt ran: "new process" or "in process"

    def count(self, kinds: tuple[str, ...], statuses: tuple[str, ...] | None = None) -> int:
        return sum(
            1 for n in self.nodes if n.kind in kinds and (statuses is None or n.status in statuses)
        )

    @property
    def models(self) -> int:
        return self.count(("model",))

    @property
    def tests(self) -> int:
        return self.count(("test", "unit_test"))

    @property
    def tests_passed(self) -> int:
        return self.count(("test", "unit_test"), ("pass",))

    @property
    def passed(self) -> int:
        """Every node that succeeded: models, seeds and tests."""
        return sum(1 for n in self.nodes if n.status in ("success", "pass"))

    @property
    def warned(self) -> list[DbtNodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    @property
    def failed(self) -> list[DbtNodeResult]:
        """Nodes that failed or errored (a failing test, a model whose SQL broke)."""
        return [n for n in self.nodes if n.status in ("fail", "error", "runtime error")]

    @property
    def skipped(self) -> int:
        return sum(1 for n in self.nodes if n.status == "skipped")

    @property
    def ok(self) -> bool:
        return self.return_code == 0 and not self.failed

    def slowest(self, n: int = 5) -> list[DbtNodeResult]:
        return sorted(self.nodes, key=lambda node: node.seconds, reverse=True)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "return_code": self.return_code,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "dbt_seconds": round(self.dbt_seconds, 2) if self.dbt_seconds is not None else None,
            "log_path": self.log_path,
            "process": self.process,
            "selection": self.selection,
            "full_refresh": self.full_refresh,
            "models": self.models,
            "tests": self.tests,
            "tests_passed": self.tests_passed,
            "passed": self.passed,
            "warnings": [n.name for n in self.warned],
            "failures": [
                {"name": n.name, "kind": n.kind, "status": n.status, "message": n.message}
                for n in self.failed
            ],
            "skipped": self.skipped,
            "slowest": [{"name": n.name, "seconds": round(n.seconds, 2)} for n in self.slowest()],
        }


def read_run_results(path: Path) -> list[DbtNodeResult]:
    """The nodes of a dbt run_results.json (unique_id "model.nba_elt.fact_boxscores" ...)."""
    payload = json.loads(path.read_text())
    nodes = []
    for result in payload.get("results", []):
        unique_id = result.get("unique_id", "")
        # model.<project>.<name>, test.<project>.<name>[.<hash>], unit_test.<project>.<model>.<name>
        parts = unique_id.split(".")
        kind = parts[0]
        name = parts[-1] if kind == "unit_test" else (parts[2] if len(parts) > 2 else unique_id)
        nodes.append(
            DbtNodeResult(
                name=name,
                kind=kind,
                status=str(result.get("status", "")).lower(),
                seconds=float(result.get("execution_time") or 0.0),
                message=(result.get("message") or "").strip(),
                failures=result.get("failures"),
                sql=result.get("compiled_code") or "",
            )
        )
    return nodes


RULES_TEST = "column_rules"  # dbt/tests/generic/column_rules.sql


def name_broken_rules(engine: Engine, nodes: Iterable[DbtNodeResult]) -> None:
    """Put the rules a failing or warning column_rules test found broken in its message.

    The test is one node for all of a model's column rules; its query returns (rule,
    bad_rows) for each broken rule, so running it again names them: "broken: opponent not
    null (1 row); Got 1 result, ...". Read only; when the query cannot run, the message stays
    as dbt wrote it.
    """
    for node in nodes:
        if not (
            node.kind == "test"
            and node.name.startswith(RULES_TEST)
            and node.status in ("fail", "warn")
            and node.sql
        ):
            continue
        try:
            with engine.connect() as conn:
                found = conn.exec_driver_sql(
                    f"select rule, bad_rows from ({node.sql}) as found"
                ).all()
        except Exception as exc:  # noqa: BLE001 - the message is a courtesy, never a failure
            log.debug("could not re-run %s to name its rules: %s", node.name, exc)
            continue
        if found:
            rules = ", ".join(f"{r} ({n} row{'' if n == 1 else 's'})" for r, n in found)
            node.message = f"broken: {rules}; {node.message}".rstrip("; ")
