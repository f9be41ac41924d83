"""The polite HTTP client toward basketball-reference, with the raw page archive.

- One requests.Session, a User-Agent naming the project, connect/read timeouts.
- A request budget of NBA_ELT_REQUESTS_PER_MINUTE per host, shared by every client in the process
  (a minimum interval between requests; the site jails clients above 20/minute).
- 429: wait Retry-After (capped), retry. 5xx / connection errors: bounded retries with
  exponential backoff. 403: SiteBlocked (the whole run stops; later calls fail at once).
  404: PageNotFound.
- Every 2xx body goes to the raw archive (nba_elt.extract.archive) with URL, status and time.
  ``final=True`` pages (finished games, past days) are served from the archive when it
  holds them and never fetched twice; within one client a page is fetched at most once.
- ``offline=True``: only the archive is read; a missing page is a SourceError naming it.

Tests avoid real waiting by setting a high NBA_ELT_REQUESTS_PER_MINUTE and by passing
``sleep=`` (or monkeypatching ``nba_elt.extract.http.default_sleep``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from nba_elt.config import Settings
from nba_elt.errors import PageNotFound, SiteBlocked, SourceError
from nba_elt.extract.archive import ArchivedPage, PageArchive, open_archive

log = logging.getLogger(__name__)

USER_AGENT = "nba-elt/0.1 (NBA data pipeline; polite, rate-limited; python-requests)"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 4  # first try + 3 retries, for 429 / 5xx / connection errors
BACKOFF_BASE_S = 2.0
RETRY_AFTER_CAP_S = 120.0
MEMO_PAGES = 64  # pages a client keeps in memory (a month page is asked once per date)


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)


class RequestBudget:
    """A minimum interval between requests, shared by every client of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at = 0.0

    def wait(self, per_minute: float, sleep: Callable[[float], None]) -> None:
        interval = 60.0 / per_minute
        with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next_at - now)
            self._next_at = max(now, self._next_at) + interval
        if delay > 0:
            log.debug("request budget: waiting %.2fs", delay)
            sleep(delay)


PROCESS_BUDGET = RequestBudget()  # basketball-reference's (NBA_ELT_BBREF_URL)
_HOST_BUDGETS: dict[str, RequestBudget] = {}  # any other host's (the NBA's CDN, stats)
_HOST_BUDGETS_LOCK = threading.Lock()


def budget_for(host: str, bbref_host: str) -> RequestBudget:
    """The process-wide request budget of one host: each host has its own."""
    if host == bbref_host:
        return PROCESS_BUDGET
    with _HOST_BUDGETS_LOCK:
        return _HOST_BUDGETS.setdefault(host, RequestBudget())


def _retry_after_seconds(value: str | None, fallback: float) -> float:
    if not value:
        return fallback
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return fallback
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def _settled(page: ArchivedPage, final: bool | dt.date, offline: bool) -> bool:
    if offline or final is True or not isinstance(final, dt.date):
        return True
    return page.fetched_at[:10] >= final.isoformat()


class HttpClient:
    """Fetch site pages politely; archive them; serve finished pages from the archive."""

    def __init__(
        self,
        settings: Settings,
        offline: bool = False,
        *,
        archive: PageArchive | None = None,
        sleep: Callable[[float], None] | None = None,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.settings = settings
        self.offline = offline
        # base_url: the host this client talks to (default NBA_ELT_BBREF_URL); the
        # request budget is that host's, and headers are added to every request.
        self.base_url = (base_url or settings.bbref_url).rstrip("/")
        self.archive = (
            archive if archive is not None else open_archive(settings.archive_dir, settings)
        )
        self._sleep = sleep
        self.max_attempts = max_attempts
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(headers or {})
        self.host = urlsplit(self.base_url).netloc
        self._bbref_host = urlsplit(settings.bbref_url).netloc
        self._seen: OrderedDict[str, str] = OrderedDict()  # this run's pages, newest last
        self.blocked: str | None = None
        self.requests_made = 0

    def sleep(self, seconds: float) -> None:
        (self._sleep or default_sleep)(seconds)

    def url_for(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def in_archive(self, path: str) -> bool:
        return self.archive.has(path)

    def get(self, path: str, *, final: bool | dt.date = False) -> str:
        """The body of a site page (path + query, relative to NBA_ELT_BBREF_URL).

        ``final``: the page no longer changes, so an archived copy is served instead of a
        request. A date means "final, but only a copy fetched on or after this date (UTC)
        counts" (a copy fetched while the games were still being played is refreshed once).
        """
        url = self.url_for(path)
        if path in self._seen:
            self._seen.move_to_end(path)
            return self._seen[path]
        if self.offline or final:
            page = self.archive.get(path)
            if (
                page is not None
                and 200 <= page.status < 300
                and _settled(page, final, self.offline)
            ):
                log.debug("archive hit %s (fetched %s)", path, page.fetched_at)
                self._remember(path, page.body)
                return page.body
            if self.offline:
                raise SourceError(
                    f"offline: {url} is not in the raw archive at {self.archive.location}; "
                    "run without --offline to fetch it"
                )
        return self._fetch_and_keep(path)

    def _fetch_and_keep(self, path: str) -> str:
        """Fetch from the site; archive the body and remember it for this client."""
        url = self.url_for(path)
        body, status = self._fetch(url)
        self.archive.put(path, body, status, url=url)
        self._remember(path, body)
        return body

    def _remember(self, path: str, body: str) -> None:
        self._seen[path] = body
        while len(self._seen) > MEMO_PAGES:
            self._seen.popitem(last=False)

    def refetch(self, path: str) -> str:
        """Fetch again even if this client or the archive already holds the page."""
        self._seen.pop(path, None)
        if self.offline:
            return self.get(path)
        return self._fetch_and_keep(path)

    def _before_retry(self, url: str, problem: str, attempt: int, wait: float) -> None:
        """Log a failed attempt and wait before the next one (none after the last)."""
        log.warning("GET %s: %s (attempt %d/%d)", url, problem, attempt, self.max_attempts)
        if attempt < self.max_attempts:
            self.sleep(wait)

    def _fetch(self, url: str) -> tuple[str, int]:
        if self.blocked:
            raise SiteBlocked(self.blocked)
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            budget_for(self.host, self._bbref_host).wait(
                self.settings.requests_per_minute, self.sleep
            )
            backoff = BACKOFF_BASE_S * 2 ** (attempt - 1)
            try:
                self.requests_made += 1
                response = self.session.get(url, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = f"{type(exc).__name__}"
                self._before_retry(url, last_problem, attempt, backoff)
                continue
            status = response.status_code
            log.info("GET %s -> %d", url, status)
            if 200 <= status < 300:
                response.encoding = response.encoding or "utf-8"
                if response.encoding.lower() == "iso-8859-1":
                    response.encoding = "utf-8"  # the site is UTF-8; requests guesses latin-1
                return response.text, status
            if status == 403:
                self.blocked = (
                    f"{url} answered 403: {self.host} is blocking this client. "
                    "Stop, wait (basketball-reference's jail lasts up to a day) and lower "
                    "NBA_ELT_REQUESTS_PER_MINUTE before retrying"
                )
                raise SiteBlocked(self.blocked)
            if status == 404:
                raise PageNotFound(
                    f"{url} answered 404: the site has no such page; check the date or game id"
                )
            if status == 429:
                wait = _retry_after_seconds(response.headers.get("Retry-After"), backoff)
                last_problem = f"429 Too Many Requests (Retry-After {wait:.0f}s)"
                self._before_retry(url, last_problem, attempt, wait)
                continue
            if status >= 500:
                last_problem = f"HTTP {status}"
                self._before_retry(url, last_problem, attempt, backoff)
                continue
            raise SourceError(f"{url} answered HTTP {status}; not retried")
        raise SourceError(
            f"{url} failed after {self.max_attempts} attempts ({last_problem}); "
            "the site may be down or rate-limiting: retry later"
        )
