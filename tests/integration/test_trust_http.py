"""Issue #11 at the HTTP layer, against tests/faulty_site.py (a local site that injects
faults into real recorded pages): deadlines, cut bodies, size, encoding, Retry-After,
repeated 429, a dead network, the User-Agent and the machine-wide request budget."""

from __future__ import annotations

import email.utils
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nba_elt.config import get_settings
from nba_elt.errors import (
    EXIT_NOT_AVAILABLE,
    BadEncoding,
    PageTooLarge,
    RateLimited,
    RetryLater,
    SiteUnreachable,
    TransientSourceError,
)
from nba_elt.extract import http
from nba_elt.extract.http import HttpClient
from tests.faulty_site import Cut, Drip, Gzipped, Huge, Page, Status

PBP = "/boxscores/pbp/201810270MIL.html"
ROOT = Path(__file__).resolve().parents[2]


def test_a_gzipped_page_is_decompressed(faulty_site):
    faulty_site.fault(PBP, Gzipped())
    body = HttpClient(get_settings()).get(PBP)
    assert body.rstrip().endswith("</html>") and "ORL" in body


def test_a_connection_cut_mid_body_is_retried_like_a_5xx(faulty_site):
    faulty_site.fault(PBP, Cut(0.5), Page())
    body = HttpClient(get_settings()).get(PBP)
    assert body.rstrip().endswith("</html>") and "ORL" in body
    assert faulty_site.hits(PBP) == 2
    assert faulty_site.sleeps.count(http.BACKOFF_BASE_S) == 1


def test_a_connection_cut_every_time_fails_after_the_retries(faulty_site):
    faulty_site.fault(PBP, Cut(0.3))
    with pytest.raises(TransientSourceError, match="cut mid-body") as caught:
        HttpClient(get_settings()).get(PBP)
    assert caught.value.transient and not caught.value.terminal
    assert faulty_site.hits(PBP) == http.MAX_ATTEMPTS


def test_a_dripping_body_ends_at_the_total_deadline_and_is_not_retried(faulty_site, monkeypatch):
    monkeypatch.setenv("NBA_ELT_REQUEST_DEADLINE", "1")
    faulty_site.fault(PBP, Drip(1024, 0.2))  # the whole page would take ~40 s
    with pytest.raises(TransientSourceError, match="NBA_ELT_REQUEST_DEADLINE"):
        HttpClient(get_settings()).get(PBP)
    assert faulty_site.hits(PBP) == 1


def test_a_response_over_the_size_limit_fails(faulty_site, monkeypatch):
    monkeypatch.setenv("NBA_ELT_MAX_PAGE_MB", "1")
    faulty_site.fault(PBP, Huge(5))
    with pytest.raises(PageTooLarge, match="NBA_ELT_MAX_PAGE_MB"):
        HttpClient(get_settings()).get(PBP)
    big = b"<html>" + b"x" * (2 * 1024 * 1024) + b"</html>"
    faulty_site.fault(PBP, Page(big))  # announced by Content-Length: refused before reading
    with pytest.raises(PageTooLarge):
        HttpClient(get_settings()).get(PBP)


def test_pages_are_utf8_whatever_the_header_says_and_invalid_bytes_fail(faulty_site):
    name = "<html><body>Luka Dončić</body></html>".encode()
    faulty_site.fault(PBP, Page(name, content_type="text/html; charset=iso-8859-1"))
    assert "Dončić" in HttpClient(get_settings()).get(PBP)
    faulty_site.fault(PBP, Page(b"<html><body>Don\xe8i\xe6</body></html>"))
    client = HttpClient(get_settings())
    with pytest.raises(BadEncoding, match="byte 15"):
        client.get(PBP)


def test_retry_after_in_seconds_is_obeyed_exactly(faulty_site):
    faulty_site.fault(PBP, Status(429, {"Retry-After": "3"}), Page())
    HttpClient(get_settings()).get(PBP)
    assert faulty_site.sleeps == [3.0]
    assert faulty_site.hits(PBP) == 2


def test_retry_after_as_an_http_date_is_obeyed(faulty_site):
    when = email.utils.formatdate(time.time() + 40, usegmt=True)
    faulty_site.fault(PBP, Status(429, {"Retry-After": when}), Page())
    HttpClient(get_settings()).get(PBP)
    assert len(faulty_site.sleeps) == 1 and 37 <= faulty_site.sleeps[0] <= 41


def test_a_retry_after_past_the_cap_stops_with_exit_75_and_a_time_to_resume(faulty_site):
    faulty_site.fault(PBP, Status(429, {"Retry-After": "3600"}))
    client = HttpClient(get_settings())
    with pytest.raises(RetryLater, match=r"Resume after \d{4}-\d\d-\d\d \d\d:\d\d") as caught:
        client.get(PBP)
    assert caught.value.exit_code == EXIT_NOT_AVAILABLE and caught.value.terminal
    assert faulty_site.sleeps == [] and faulty_site.hits(PBP) == 1
    with pytest.raises(RetryLater):  # the client stays stopped: no more requests
        client.get("/boxscores/pbp/201901010DEN.html")
    assert sum(faulty_site.requests.values()) == 1


def test_two_429s_in_a_row_stop_like_a_403(faulty_site):
    faulty_site.fault(PBP, Status(429, {"Retry-After": "1"}))
    client = HttpClient(get_settings())
    with pytest.raises(RateLimited, match="429 twice") as caught:
        client.get(PBP)
    assert caught.value.terminal
    with pytest.raises(RateLimited):
        client.get("/boxscores/pbp/201901010DEN.html")
    assert sum(faulty_site.requests.values()) == 2


def test_name_resolution_failure_stops_at_once(monkeypatch):
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://www.basketball-reference.invalid")
    waits: list[float] = []
    client = HttpClient(get_settings(), sleep=waits.append)
    with pytest.raises(SiteUnreachable) as caught:
        client.get(PBP)
    assert str(caught.value).startswith(
        "cannot reach www.basketball-reference.invalid: name resolution failed"
    )
    assert caught.value.terminal and client.requests_made == 1 and waits == []


def test_connection_refused_stops_at_once(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("NBA_ELT_BBREF_URL", f"http://127.0.0.1:{port}")
    client = HttpClient(get_settings(), sleep=lambda s: None)
    with pytest.raises(SiteUnreachable, match="cannot reach 127.0.0.1: connection refused"):
        client.get(PBP)
    assert client.requests_made == 1


def test_an_unreachable_nba_host_names_its_own_setting(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("NBA_ELT_NBA_STATS_URL", f"http://127.0.0.1:{port}")
    settings = get_settings()
    client = HttpClient(settings, base_url=settings.nba_stats_url, sleep=lambda s: None)
    with pytest.raises(SiteUnreachable) as caught:
        client.get("/stats/scoreboardv3?GameDate=2018-01-01&LeagueID=00")
    assert "Check the network (or NBA_ELT_NBA_STATS_URL)" in str(caught.value)
    assert "NBA_ELT_BBREF_URL" not in str(caught.value)


def test_the_user_agent_names_the_project_and_can_be_overridden(faulty_site, monkeypatch):
    HttpClient(get_settings()).get(PBP)
    agent = faulty_site.user_agents[-1]
    assert agent.startswith("nba-elt/") and "https://" in agent
    assert "python-requests" not in agent.lower()
    monkeypatch.setenv("NBA_ELT_USER_AGENT", "my-team-scraper/2 (ops@example.org)")
    HttpClient(get_settings()).get(JAN := "/leagues/NBA_2018_games-january.html")
    assert faulty_site.user_agents[-1] == "my-team-scraper/2 (ops@example.org)"
    assert faulty_site.hits(JAN) == 1


CLIENT_SCRIPT = """
import sys
from nba_elt.config import get_settings
from nba_elt.extract.http import HttpClient
client = HttpClient(get_settings())
for _ in range(int(sys.argv[1])):
    client.refetch("/boxscores/pbp/201810270MIL.html")
"""


def test_the_request_budget_is_one_per_machine_across_processes(faulty_site, tmp_path):
    """Two processes at 120/minute together: the site sees one request every 0.5 s."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NBA_ELT_REQUESTS_PER_MINUTE": "120",
        "NBA_ELT_STATE_DIR": str(tmp_path / "state"),
    }
    procs = [
        subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, "4"], env=env) for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    starts = sorted(faulty_site.times)
    assert len(starts) == 8
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.45, json.dumps(gaps)  # 60 / 120 s, minus the server's jitter
