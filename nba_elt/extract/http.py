"""The polite HTTP client toward basketball-reference, with the raw page archive.

- One requests.Session, a User-Agent naming the project and its URL (NBA_ELT_USER_AGENT
  overrides it), a connect timeout and a TOTAL deadline per request, body included
  (NBA_ELT_REQUEST_DEADLINE), and a size limit (NBA_ELT_MAX_PAGE_MB).
- A request budget of NBA_ELT_REQUESTS_PER_MINUTE per host shared by every process of the
  machine (nba_elt.extract.budget; the site jails clients above 20/minute).
- 429: wait exactly what Retry-After asks (seconds or an HTTP date), then retry once; a
  second 429 in a row stops the run (RateLimited), and a Retry-After longer than
  NBA_ELT_RETRY_AFTER_CAP stops it with exit 75 (RetryLater). 5xx, a read timeout and a
  connection cut mid-body: bounded retries with exponential backoff. 403: SiteBlocked.
  Name resolution failed / connection refused: SiteUnreachable at once (a dead network is
  not a busy site). 404: PageNotFound. Each of these carries the errors' terminal /
  transient markers; after a terminal one every later call fails at once.
- Bodies are decoded as UTF-8 whatever the header says; invalid UTF-8 is BadEncoding with
  the byte offset.
- The archive holds only pages that passed: a fetched page stays pending in the client
  until its unit settles it (``settle``): archived when the unit passed its checks, kept
  apart in the quarantine when it failed (and fetched again next time).
  ``final=True`` pages (finished games, past days) are served from the archive when it
  holds them; ``force=True`` fetches them again (offline, force replays the archive).
- ``offline=True``: only the archive is read; a missing page is a SourceError naming it.

Tests avoid real waiting by setting a high NBA_ELT_REQUESTS_PER_MINUTE and by passing
``sleep=`` (or monkeypatching ``nba_elt.extract.http.default_sleep``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3

from nba_elt.config import Settings
from nba_elt.errors import (
    BadEncoding,
    DeadlineExceeded,
    NbaEltError,
    PageNotFound,
    PageTooLarge,
    RateLimited,
    RetryLater,
    SiteBlocked,
    SiteUnreachable,
    SourceError,
    TransientSourceError,
)
from nba_elt.extract.archive import DamagedEntry, PageArchive, open_archive
from nba_elt.extract.budget import RequestBudget

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0  # one silent read; the whole request is bounded by the deadline
MAX_ATTEMPTS = 4  # first try + 3 retries, for 5xx / timeouts / cut connections
BACKOFF_BASE_S = 2.0
MEMO_PAGES = 64  # pages a client keeps in memory (a month page is asked once per date)
CHUNK = 64 * 1024


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def unreachable_reason(exc: BaseException) -> str | None:
    """'name resolution failed' / 'connection refused' / 'network unreachable' when a
    connection error means the host cannot be reached at all, else None."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (urllib3.exceptions.NameResolutionError, socket.gaierror)):
            return "name resolution failed"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        # ENETUNREACH, EHOSTUNREACH
        if isinstance(current, OSError) and current.errno in (101, 113):
            return "network unreachable"
        for nested in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(nested, BaseException):
                todo.append(nested)
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return None


@dataclass
class PendingPage:
    """A fetched page not yet archived: its unit has not passed its checks yet."""

    path: str
    url: str
    status: int
    body: bytes


class HttpClient:
    """Fetch site pages politely; serve finished pages from the archive; archive passed ones."""

    def __init__(
        self,
        settings: Settings,
        offline: bool = False,
        *,
        archive: PageArchive | None = None,
        sleep: Callable[[float], None] | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        force: bool = False,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.settings = settings
        self.offline = offline
        # what to do about a page the archive lacks; a dry run (offline without --offline)
        # says its own
        self.offline_hint = "run without --offline to fetch it"
        self.force = force
        self.base_url = (base_url or settings.bbref_url).rstrip("/")
        self.host = urlsplit(self.base_url).hostname or self.base_url
        self.archive = archive or open_archive(settings.archive_dir, settings)
        self.budget = RequestBudget(settings.state_dir)
        self._sleep = sleep
        self.max_attempts = max_attempts
        self.session = requests.Session()
        self.session.headers["User-Agent"] = settings.user_agent
        self.session.headers.update(headers or {})
        self._seen: OrderedDict[str, str] = OrderedDict()  # this run's pages, newest last
        self.pending: dict[str, PendingPage] = {}
        self.stopped: NbaEltError | None = None  # a terminal error: every later call fails
        self.requests_made = 0
        self._429_in_a_row = 0

    @property
    def blocked(self) -> str | None:
        return str(self.stopped) if self.stopped else None

    def sleep(self, seconds: float) -> None:
        (self._sleep or default_sleep)(seconds)

    def _url_setting(self) -> str:
        """The setting that names this client's host (the NBA's clients have their own)."""
        for env, url in (
            ("NBA_ELT_BBREF_URL", self.settings.bbref_url),
            ("NBA_ELT_NBA_CDN_URL", self.settings.nba_cdn_url),
            ("NBA_ELT_NBA_STATS_URL", self.settings.nba_stats_url),
        ):
            if self.base_url == url.rstrip("/"):
                return env
        return "NBA_ELT_BBREF_URL"

    def url_for(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def in_archive(self, path: str) -> bool:
        return self.archive.has(path)

    # ------------------------------------------------------------------ pages

    def get(self, path: str, *, final: bool | dt.date = False) -> str:
        """The body of a site page (path + query, relative to the base URL).

        ``final``: the page no longer changes, so an archived copy is served instead of a
        request. A date means "final, but only a copy fetched on or after this date (UTC)
        counts" (a copy fetched while the games were still being played is refreshed once).
        """
        url = self.url_for(path)
        if path in self._seen:
            self._seen.move_to_end(path)
            return self._seen[path]
        if self.offline or (final and not self.force):
            body = self._from_archive(path, final)
            if body is not None:
                self._remember(path, body)
                return body
            if self.offline:
                raise SourceError(
                    f"offline: {url} is not in the raw archive at {self.archive.location}; "
                    f"{self.offline_hint}"
                )
        return self._fetch_and_keep(path)

    def _from_archive(self, path: str, final: bool | dt.date) -> str | None:
        try:
            page = self.archive.get(path)
        except DamagedEntry as exc:
            if self.offline:
                raise SourceError(f"offline: {exc}; {self.offline_hint}") from None
            log.warning("%s; fetching the page again", exc)
            return None
        if page is None or not 200 <= page.status < 300:
            return None
        settled_after = final if isinstance(final, dt.date) and not self.offline else None
        if settled_after is not None and page.fetched_at[:10] < settled_after.isoformat():
            return None  # fetched while the games were still being played
        log.debug("archive hit %s (fetched %s)", path, page.fetched_at)
        return page.body

    def _fetch_and_keep(self, path: str) -> str:
        """Fetch from the site; keep the page pending until its unit settles it."""
        url = self.url_for(path)
        raw, status = self._fetch(url)
        self.pending[path] = PendingPage(path, url, status, raw)
        try:  # UTF-8 always: the site's encoding, whatever a header claims
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadEncoding(
                f"{url}: the page is not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 4]!r})"
            ) from None
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

    def settle(
        self, passed: bool, reason: str = "", *, paths: list[str] | None = None
    ) -> str | None:
        """The pages fetched and not settled yet (or only ``paths``): archived when their
        unit passed, else put in the quarantine (returns its location) and forgotten, so
        the next attempt fetches them again."""
        chosen = list(self.pending) if paths is None else [p for p in paths if p in self.pending]
        pages = [self.pending.pop(p) for p in chosen]
        if passed:
            for page in pages:
                self.archive.put(page.path, page.body, page.status, url=page.url)
            return None
        if not pages:
            return None
        quarantine = self.archive.quarantine()
        for page in pages:
            self._seen.pop(page.path, None)
            try:
                quarantine.put(page.path, page.body, page.status, url=page.url, reason=reason)
            except NbaEltError as exc:  # the failure being reported matters more
                log.warning("could not keep %s in the quarantine: %s", page.url, exc)
        log.warning(
            "%d page(s) kept apart in the quarantine %s: %s",
            len(pages),
            quarantine.location,
            reason,
        )
        return quarantine.location

    def forget_pending(self) -> None:
        """Drop pending pages without archiving them (e.g. data not published yet)."""
        for path in self.pending:
            self._seen.pop(path, None)
        self.pending = {}

    # ------------------------------------------------------------------ the wire

    def _stop(self, error: NbaEltError) -> NbaEltError:
        self.stopped = error
        return error

    def _fetch(self, url: str) -> tuple[bytes, int]:
        if self.stopped is not None:
            raise self.stopped
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            self.budget.wait(self.host, self.settings.requests_per_minute, self.sleep)
            backoff = BACKOFF_BASE_S * 2 ** (attempt - 1)
            deadline = time.monotonic() + self.settings.request_deadline
            read_timeout = min(READ_TIMEOUT_S, self.settings.request_deadline)
            self.requests_made += 1
            try:
                response = self.session.get(
                    url, timeout=(CONNECT_TIMEOUT_S, read_timeout), stream=True
                )
            except requests.ConnectionError as exc:
                reason = unreachable_reason(exc)
                if reason is not None:
                    unreachable = SiteUnreachable(
                        f"cannot reach {self.host}: {reason}. Check the network (or "
                        f"{self._url_setting()})"
                    )
                    unreachable.stop_summary = f"cannot reach {self.host}: {reason}"
                    raise self._stop(unreachable) from None
                last_problem = f"connection failed ({type(exc).__name__})"
            except requests.Timeout:
                last_problem = "no answer in time"
            else:
                with response:
                    status = response.status_code
                    log.info("GET %s -> %d", url, status)
                    if status != 429:
                        self._429_in_a_row = 0
                    if 200 <= status < 300:
                        try:
                            return self._read_body(response, url, deadline), status
                        except _CutBody as exc:
                            last_problem = str(exc)
                    elif status == 403:
                        raise self._stop(
                            SiteBlocked(
                                f"{url} answered 403: basketball-reference is blocking this "
                                "client. Stop, wait (the site's jail lasts up to a day) and lower "
                                "NBA_ELT_REQUESTS_PER_MINUTE before retrying"
                            )
                        )
                    elif status == 404:
                        raise PageNotFound(
                            f"{url} answered 404: the site has no such page; check the date or "
                            "game id"
                        )
                    elif status == 429:
                        self._on_429(url, response.headers.get("Retry-After"), backoff)
                        last_problem = "429 Too Many Requests"
                        continue  # waited as asked: no backoff on top
                    elif status >= 500:
                        last_problem = f"HTTP {status}"
                    else:
                        raise SourceError(f"{url} answered HTTP {status}; not retried")
            # a failed attempt: log it and back off before the next one (none after the last)
            log.warning("GET %s: %s (attempt %d/%d)", url, last_problem, attempt, self.max_attempts)
            if attempt < self.max_attempts:
                self.sleep(backoff)
        raise TransientSourceError(
            f"{url} failed after {self.max_attempts} attempts ({last_problem}); "
            "the site is failing: retry later"
        )

    def _on_429(self, url: str, retry_after: str | None, backoff: float) -> None:
        """Obey a 429: stop on the second in a row, or when asked to wait past the cap."""
        self._429_in_a_row += 1
        if self._429_in_a_row >= 2:
            raise self._stop(
                RateLimited(
                    f"{url} answered 429 twice in a row: the site is rate-limiting this "
                    "client. The run stops; wait and lower NBA_ELT_REQUESTS_PER_MINUTE"
                )
            )
        asked = retry_after_seconds(retry_after)
        wait = backoff if asked is None else asked
        cap = self.settings.retry_after_cap
        if wait > cap:
            at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            raise self._stop(
                RetryLater(
                    f"{url} answered 429 with Retry-After {wait:.0f}s, longer than "
                    f"NBA_ELT_RETRY_AFTER_CAP ({cap:.0f}s): the run stops here. Resume after "
                    f"{at:%Y-%m-%d %H:%M:%S} UTC"
                )
            )
        log.warning("GET %s: 429 Too Many Requests; waiting %.1fs as asked", url, wait)
        self.sleep(wait)

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        limit = int(self.settings.max_page_mb * 1024 * 1024)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PageTooLarge(self._too_large(url, int(declared)))
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise DeadlineExceeded(
                        f"{url}: no complete answer within {self.settings.request_deadline:.0f}s "
                        "(NBA_ELT_REQUEST_DEADLINE); the site is too slow, retry later"
                    )
                # read1: returns after one read of the socket, so the deadline is checked
                # however slowly the body drips
                chunk = response.raw.read1(CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise PageTooLarge(self._too_large(url, size))
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise _CutBody(f"connection cut mid-body ({type(exc).__name__})") from None
        return b"".join(chunks)

    def _too_large(self, url: str, size: int) -> str:
        return (
            f"{url}: the answer is larger than NBA_ELT_MAX_PAGE_MB "
            f"({self.settings.max_page_mb:g} MB; {size / 1e6:.1f} MB seen); not a page of the site"
        )


class _CutBody(Exception):
    """The connection ended before the body did: retried like a 5xx."""
