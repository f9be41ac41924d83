"""Slack alerts through an incoming webhook (NBA_ELT_SLACK_WEBHOOK_URL).

Alerts are sent at task boundaries, never inside loops. The webhook URL is a secret: it
never appears in a log line, an error message or a return value. With no webhook
configured the alert is logged and nothing is sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import requests

from nba_elt.config import Settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 3
# A 429 asking us to wait longer than this is not worth holding a run open for.
DEFAULT_MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class AlertResult:
    """What happened to one alert: sent, only logged (no webhook), or failed (and why)."""

    sent: bool
    attempts: int = 0
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "attempts": self.attempts, "detail": self.detail}


def _retry_after_seconds(response: requests.Response, attempt: int) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return float(2**attempt)


def build_payload(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Slack incoming-webhook JSON: `text` is always set (the notification fallback)."""
    payload: dict[str, Any] = {"text": text}
    if blocks:
        payload["blocks"] = blocks
    return payload


def send_alert(
    settings: Settings,
    text: str,
    *,
    blocks: list[dict[str, Any]] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
) -> AlertResult:
    """Post `text` (and optional Slack blocks) to the webhook; never raises.

    A 429 is retried after its Retry-After (at most `max_retry_after` seconds, at most
    `max_attempts` posts); 5xx and connection errors are retried the same way. Any other
    answer ends the attempt. An alert that cannot be delivered is logged, and the caller's
    exit code is not changed by it.
    """
    url = settings.slack_webhook_url
    if not url:
        log.warning("alert (NBA_ELT_SLACK_WEBHOOK_URL unset, logged only): %s", text)
        return AlertResult(sent=False, detail="no webhook configured; logged only")
    payload = build_payload(text, blocks)
    detail = ""
    for attempt in range(1, max_attempts + 1):
        try:
            response = requests.post(url, json=payload, timeout=timeout)
        except requests.RequestException as exc:
            # The exception text contains the URL: report only its type.
            detail = f"could not reach the Slack webhook ({type(exc).__name__})"
            log.warning("%s, attempt %d/%d", detail, attempt, max_attempts)
            if attempt < max_attempts:
                time.sleep(min(float(2**attempt), max_retry_after))
            continue
        if response.status_code < 300:
            log.info("alert sent to Slack (attempt %d)", attempt)
            return AlertResult(sent=True, attempts=attempt, detail="sent")
        if response.status_code == 429 or response.status_code >= 500:
            wait = _retry_after_seconds(response, attempt)
            detail = f"the Slack webhook answered HTTP {response.status_code}"
            if wait > max_retry_after:
                detail += f" asking to wait {wait:.0f} s (more than {max_retry_after:.0f} s)"
                break
            log.warning(
                "%s; retrying in %.1f s (attempt %d/%d)", detail, wait, attempt, max_attempts
            )
            if attempt < max_attempts:
                time.sleep(wait)
            continue
        detail = f"the Slack webhook answered HTTP {response.status_code}: {response.text[:200]}"
        break
    log.error("alert not delivered: %s. The alert was: %s", detail, text)
    return AlertResult(sent=False, attempts=attempt, detail=detail)
