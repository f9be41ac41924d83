"""nba_elt.ops.alerts against a real local HTTP server standing in for Slack's webhook."""

from __future__ import annotations

import json
import logging
import time

from werkzeug.wrappers import Response

from nba_elt.config import Settings
from nba_elt.ops.alerts import send_alert

SECRET_PATH = "/services/T000/B000/s3cr3tw3bh00k"


def _our_logs(caplog) -> str:
    """What nba_elt logged (the CLI keeps urllib3's own debug lines at WARNING)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("nba_elt"))


def _settings(httpserver) -> Settings:
    return Settings(slack_webhook_url=httpserver.url_for(SECRET_PATH))


def test_alert_posts_slack_json(httpserver, caplog):
    httpserver.expect_oneshot_request(SECRET_PATH, method="POST").respond_with_data("ok")
    with caplog.at_level(logging.DEBUG):
        result = send_alert(_settings(httpserver), "backfill run 7: 1 failed")
    assert result.sent and result.attempts == 1
    (request, _response) = httpserver.log[0]
    assert request.headers["Content-Type"].startswith("application/json")
    assert json.loads(request.data) == {"text": "backfill run 7: 1 failed"}
    assert "s3cr3t" not in _our_logs(caplog)


def test_alert_honours_retry_after_on_429(httpserver):
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("rate limited", status=429, headers={"Retry-After": "1"})
        return Response("ok", status=200)

    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_handler(handler)
    result = send_alert(_settings(httpserver), "hello")
    assert result.sent and result.attempts == 2
    assert calls[1] - calls[0] >= 0.95


def test_alert_gives_up_when_retry_after_is_too_long(httpserver, caplog):
    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    with caplog.at_level(logging.DEBUG):
        result = send_alert(_settings(httpserver), "hello", max_retry_after=5)
    assert not result.sent and result.attempts == 1
    assert "429" in result.detail
    assert "s3cr3t" not in _our_logs(caplog) + result.detail


def test_unreachable_webhook_never_leaks_the_url(caplog):
    settings = Settings(slack_webhook_url="http://127.0.0.1:9" + SECRET_PATH)
    with caplog.at_level(logging.DEBUG):
        result = send_alert(settings, "hello", max_attempts=1)
    assert not result.sent
    assert "s3cr3t" not in _our_logs(caplog) + result.detail + repr(settings)


def test_no_webhook_logs_only(caplog):
    with caplog.at_level(logging.INFO):
        result = send_alert(Settings(), "only a log line")
    assert not result.sent
    assert "only a log line" in _our_logs(caplog)
