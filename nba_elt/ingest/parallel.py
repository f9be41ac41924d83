"""Parsing pages in worker processes ahead of the runner (offline re-ingests of many units).

Only the parse moves: the workers read the raw archive (offline: no request to the site,
so no politeness delay is bypassed) and parse; the one runner still takes each unit's
lock, writes its rows in one transaction and records it in the ledger, in unit order.
A worker's exception (SchemaDrift, a page missing from the archive ...) is raised in the
runner for that unit, as if it had parsed the page itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from nba_elt.errors import SourceError

if TYPE_CHECKING:  # the workers import only what they run
    from nba_elt.config import Settings
    from nba_elt.extract.http import HttpClient
    from nba_elt.sources.base import ParsedPage, Unit

log = logging.getLogger(__name__)

MIN_UNITS = 40  # below this, starting the workers costs more than they save
PARSE_DEADLINE_SECONDS = 120  # one page; a worker stuck longer fails its unit
PARSERS = {"pbp"}  # sources whose parse can run apart from the database

_client: HttpClient | None = None  # the worker's own offline HttpClient


def _start_worker(settings: Settings) -> None:
    global _client
    from nba_elt.extract.http import HttpClient

    _client = HttpClient(settings, offline=True)


def _parse(unit: Unit) -> ParsedPage:
    from nba_elt.sources.pbp import parse_for_copy

    return parse_for_copy(unit, _client)


def worker_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def wanted(units: Sequence[Unit], client: HttpClient) -> list[Unit]:
    """The units worth parsing ahead: offline, parseable, and enough of them."""
    if not client.offline:
        return []
    # bbref's pages only: a unit served by another provider (--provider nba) runs as usual
    chosen = [u for u in units if u.source in PARSERS and u.provider == "bbref"]
    return chosen if len(chosen) >= MIN_UNITS else []


class ParsedAhead:
    """Keeps up to `window` units parsed or parsing ahead of the one the runner is at."""

    def __init__(
        self, units: Sequence[Unit], settings: Settings, workers: int | None = None
    ) -> None:
        self.workers = workers or worker_count()
        self.window = 4 * self.workers
        self.order = list(units)
        self.position = {(u.source, u.unit_key): n for n, u in enumerate(self.order)}
        self.futures: dict[int, Future] = {}
        self.submitted = 0
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        self.pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(settings,)
        )
        self._fill(0)
        log.debug("parsing %d unit(s) in %d worker process(es)", len(self.order), self.workers)

    def _fill(self, at: int) -> None:
        while self.submitted < len(self.order) and self.submitted < at + self.window:
            self.futures[self.submitted] = self.pool.submit(_parse, self.order[self.submitted])
            self.submitted += 1

    def __call__(self, unit: Unit) -> ParsedPage | None:
        """The unit's parsed rows (the worker's exception is raised); None if not ours."""
        index = self.position.pop((unit.source, unit.unit_key), None)
        if index is None:
            return None
        self._fill(index + 1)
        for earlier in [n for n in self.futures if n < index]:  # units skipped meanwhile
            self.futures.pop(earlier).cancel()
        future = self.futures.pop(index)
        try:
            return future.result(timeout=PARSE_DEADLINE_SECONDS)
        except BrokenProcessPool:
            log.warning(
                "the parsing workers stopped; %s %s is parsed here", unit.source, unit.unit_key
            )
            return None
        except FuturesTimeout:
            future.cancel()
            raise SourceError(
                f"{unit.source} {unit.unit_key}: parsing took over {PARSE_DEADLINE_SECONDS} s"
            ) from None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
