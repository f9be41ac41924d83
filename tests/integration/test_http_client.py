"""The polite client against the local recorded site: budget, retries, archive, offline.

The fault scenarios of issue #11 (deadlines, cut bodies, Retry-After, dead network ...)
are in test_trust_http.py."""

from __future__ import annotations

import pytest

from nba_elt.config import get_settings
from nba_elt.errors import PageNotFound, SourceError
from nba_elt.extract import http
from nba_elt.extract.http import HttpClient, retry_after_seconds

PBP = "/boxscores/pbp/201810270MIL.html"
JANUARY = "/leagues/NBA_2018_games-january.html"


def test_request_budget_is_shared_by_every_client(bbref_site, monkeypatch):
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", "60")  # one request a second
    first, second = HttpClient(get_settings()), HttpClient(get_settings())
    first.get(PBP)
    second.get(JANUARY)
    first.get("/boxscores/pbp/201810160GSW.html")
    waits = [s for s in bbref_site.sleeps if s > 0.5]
    assert len(waits) == 2 and waits[0] == pytest.approx(1.01, abs=0.2)
    assert waits[1] == pytest.approx(2.02, abs=0.3)  # sleeps are recorded, the clock did not move


def test_final_pages_come_from_the_archive_and_others_are_fetched_once_per_client(bbref_site):
    settings = get_settings()
    first = HttpClient(settings)
    first.get(PBP, final=True)
    first.settle(True)  # its unit passed: archived
    HttpClient(settings).get(PBP, final=True)
    assert bbref_site.hits(PBP) == 1
    client = HttpClient(settings)
    client.get(JANUARY)
    client.get(JANUARY)
    assert bbref_site.hits(JANUARY) == 1
    HttpClient(settings).get(JANUARY)  # not final: a new run asks the site again
    assert bbref_site.hits(JANUARY) == 2
    client.settle(True)
    assert client.in_archive(JANUARY) and not client.in_archive("/nothing.html")


def test_retry_after_values():
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_404_and_other_4xx(bbref_site):
    with pytest.raises(PageNotFound, match="404"):
        HttpClient(get_settings()).get("/boxscores/pbp/209901010DEN.html")
    bbref_site.override(PBP, 410)
    with pytest.raises(SourceError, match="410"):
        HttpClient(get_settings()).get(PBP)
    assert bbref_site.hits(PBP) == 1


def test_server_errors_are_retried_with_backoff_then_reported(bbref_site):
    bbref_site.override(PBP, 503)
    client = HttpClient(get_settings())
    with pytest.raises(SourceError, match="503") as caught:
        client.get(PBP)
    assert caught.value.transient and not caught.value.terminal
    assert client.requests_made == http.MAX_ATTEMPTS
    assert [w for w in bbref_site.sleeps if w >= 1] == [2.0, 4.0, 8.0]  # exponential backoff


def test_a_copy_archived_before_the_page_settled_is_fetched_once_more(bbref_site):
    import datetime as dt

    settings = get_settings()
    client = HttpClient(settings)
    client.archive.put(PBP, "<html>half-time</html>", 200, fetched_at="2018-10-27T23:00:00+00:00")
    assert "half-time" not in client.get(PBP, final=dt.date(2018, 10, 28))
    assert bbref_site.hits(PBP) == 1
    client.settle(True)
    # the refreshed copy now counts as final
    assert "half-time" not in HttpClient(settings).get(PBP, final=dt.date(2018, 10, 28))
    assert bbref_site.hits(PBP) == 1
    # offline, any archived copy is served
    assert "half-time" not in HttpClient(settings, offline=True).get(PBP)
