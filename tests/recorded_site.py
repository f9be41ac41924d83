"""A local basketball-reference: the recorded pages of tests/fixtures/bbref at their site paths.

Use the ``bbref_site`` fixture (tests/conftest.py): it starts this site on 127.0.0.1
(pytest-httpserver), points NBA_ELT_BBREF_URL at it, lifts the request budget and
replaces the client's sleep with a recorder, so retries and Retry-After cost no time.

    def test_x(bbref_site):
        bbref_site.override("/boxscores/pbp/201901010DEN.html", 500, 200)   # 500, then the page
        bbref_site.override(path, (429, "", {"Retry-After": "7"}), 200)
        bbref_site.override(path, 403) / 404 / "<html>not the page</html>"
        ...
        assert bbref_site.hits(path) == 2
        assert 7 in bbref_site.sleeps

Responses given to ``override`` are served in order; the last one repeats. A response is
an int status (200 serves the recorded page), a str body (status 200), or a tuple
(status, body, headers). Paths not recorded answer 404.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "bbref"
NBA_FIXTURES = Path(__file__).parent / "fixtures" / "nba_stats"

# site path (+ query) -> recorded file (see tests/fixtures/bbref/PROVENANCE.md)
RECORDED_PAGES: dict[str, Path] = {
    "/friv/dailyleaders.fcgi?month=1&day=1&year=2018": FIXTURES / "dailyleaders/2018-01-01.html",
    "/boxscores/?month=1&day=1&year=2018": FIXTURES / "scoreboard/2018-01-01.html",
    "/leagues/NBA_2018_games-january.html": FIXTURES / "schedule/NBA_2018_games-january.html",
    "/leagues/NBA_2018_games-april.html": FIXTURES / "schedule/NBA_2018_games-april.html",
    "/boxscores/pbp/201901010DEN.html": FIXTURES / "pbp/201901010DEN.html",
    "/boxscores/pbp/201810160GSW.html": FIXTURES / "pbp/201810160GSW.html",
    "/boxscores/pbp/201810270MIL.html": FIXTURES / "pbp/201810270MIL.html",
}


# The NBA's hosts (stats.nba.com; the CDN has no recording): path + query exactly as the
# recorded requests of tests/fixtures/nba_stats/*.meta.json (see its PROVENANCE.md).
NBA_PAGES: dict[str, Path] = {
    "/stats/boxscoretraditionalv3?EndPeriod=0&EndRange=0&GameID=0022200552&RangeType=0"
    "&StartPeriod=0&StartRange=0": NBA_FIXTURES / "boxscoretraditionalv3_0022200552.json",
    "/stats/playbyplayv3?EndPeriod=0&GameID=0022200552&StartPeriod=0": NBA_FIXTURES
    / "playbyplayv3_0022200552.json",
    "/stats/leaguegamelog?Counter=0&DateFrom=&DateTo=&Direction=ASC&LeagueID=00&PlayerOrTeam=T"
    "&Season=2025-26&SeasonType=Regular+Season&Sorter=DATE": NBA_FIXTURES / "leaguegamelog.json",
    "/stats/leaguegamelog?Counter=0&DateFrom=&DateTo=&Direction=ASC&LeagueID=00&PlayerOrTeam=T"
    "&Season=2022-23&SeasonType=Regular+Season&Sorter=DATE": NBA_FIXTURES
    / "leaguegamelog_2022-23.json",
    "/stats/scoreboardv3?GameDate=2025-11-05&LeagueID=00": NBA_FIXTURES
    / "scoreboardv3_2025-11-05.json",
}


class RecordedSite:
    def __init__(self, httpserver, pages: dict[str, Path] | None = None) -> None:
        self.server = httpserver
        self.pages = dict(RECORDED_PAGES if pages is None else pages)
        self.overrides: dict[str, list] = {}
        self.requests: Counter[str] = Counter()
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), path) of each request
        self.user_agents: list[str] = []
        self.headers: dict[str, dict[str, str]] = {}  # the last request's headers, by path
        self.sleeps: list[float] = []
        self._hold: tuple[Callable[[], bool], float] | None = None
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def sleep(self, seconds: float) -> None:
        """Stands in for time.sleep in the client: records the wait, does not wait."""
        self.sleeps.append(seconds)

    def add_page(self, path: str, file_or_html: Path | str) -> None:
        self.pages[path] = file_or_html

    def hold_first_request(self, until: Callable[[], bool], deadline: float) -> None:
        """Answer the first request from now on only once until() is true, or after deadline s."""
        self._hold = (until, deadline)

    def override(self, path: str, *responses) -> None:
        self.overrides[path] = list(responses)

    def hits(self, path: str) -> int:
        return self.requests[path]

    def _page(self, path: str) -> Response:
        source = self.pages.get(path)
        if source is None:
            return Response("Page Not Found", status=404)
        body = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        return Response(body, status=200, content_type="text/html; charset=utf-8")

    def _handle(self, request: Request) -> Response:
        query = request.query_string.decode()
        path = request.path + (f"?{query}" if query else "")
        self.requests[path] += 1
        self.arrivals.append((time.monotonic(), path))
        self.user_agents.append(request.headers.get("User-Agent", ""))
        self.headers[path] = dict(request.headers)
        if self._hold:
            (until, deadline), self._hold = self._hold, None
            stop = time.monotonic() + deadline
            while not until() and time.monotonic() < stop:
                time.sleep(0.2)
        queue = self.overrides.get(path)
        if not queue:
            return self._page(path)
        response = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(response, int):
            return self._page(path) if response == 200 else Response("error", status=response)
        if isinstance(response, str):
            return Response(response, status=200, content_type="text/html; charset=utf-8")
        status, body, headers = response
        return Response(body, status=status, headers=headers)
