"""One settings object, read from the environment and an optional .env file.

The variables are the contract of docs/architecture.md §3. Secrets (the password inside
the database URL, the Slack webhook URL) never appear in the repr.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import quote, unquote

from nba_elt.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VALID_TARGETS = ("dev", "prod")
# Machine-wide (not per clone): every checkout on the machine shares the request budget.
DEFAULT_STATE_DIR = str(Path(tempfile.gettempdir()) / "nba-elt-state")
PROJECT_URL = "https://github.com/nba-elt/nba-elt"  # keep in step with pyproject
DEFAULT_USER_AGENT = f"nba-elt/0.1 (+{PROJECT_URL}; NBA data pipeline, at most 20 requests/minute)"


def _load_dotenv() -> None:
    """Read `.env` from the working directory or the project root; real env wins."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    for candidate in (Path.cwd() / ".env", PROJECT_ROOT / ".env"):
        if candidate.is_file():
            load_dotenv(candidate, override=False)
            return


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _positive_float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _non_negative_float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {raw!r}")
    return value


def _positive_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _base_url(name: str, default: str) -> str:
    url = _env(name, default).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {url!r}")
    return url


_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|sslpassword)=([^&#\s]*)")


def split_userinfo(url: str) -> tuple[str, str | None, str | None, str]:
    """(scheme://, user, password, rest after the userinfo) of a URL, read the forgiving way.

    The LAST '@' before the path ends the userinfo, so a password holding an unescaped '@'
    is read whole (SQLAlchemy's parser would cut it there and take the tail for the host).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, None, url
    path_at = len(rest)
    for mark in ("?", "#"):
        found = rest.find(mark)
        if found != -1:
            path_at = min(path_at, found)
    at = rest.rfind("@", 0, path_at)
    if at == -1:
        return scheme + sep, None, None, rest
    userinfo, tail = rest[:at], rest[at + 1 :]
    user, colon, password = userinfo.partition(":")
    return scheme + sep, user, (password if colon else None), tail


def mask_url(url: str | None) -> str | None:
    """Hide the secrets of a URL: the userinfo password (scheme://user:***@host/...), also
    with an unescaped '@' in it, and ``password=`` / ``token=`` query parameters."""
    if not url:
        return url
    head, user, password, tail = split_userinfo(url)
    if user is not None:
        masked = f"{head}{user}:***@{tail}" if password is not None else f"{head}{user}@{tail}"
    else:
        masked = head + tail
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", masked)


def secret_values(settings: Settings | None = None) -> list[str]:
    """Every secret string of the configuration, in each spelling it may appear in
    (raw, percent-decoded, percent-encoded), longest first: what `scrub` removes."""
    found: set[str] = set()
    url = settings.database_url if settings is not None else _env("NBA_ELT_DATABASE_URL")
    webhook = (
        settings.slack_webhook_url if settings is not None else _env("NBA_ELT_SLACK_WEBHOOK_URL")
    )
    if url:
        _, _, password, _ = split_userinfo(url)
        candidates = [password or ""]
        candidates += [m.group(2) for m in _SECRET_QUERY.finditer(url)]
        for value in candidates:
            if value:
                found |= {value, unquote(value), quote(unquote(value), safe="")}
    if webhook:
        found.add(webhook)
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if os.environ.get(name):
            found.add(os.environ[name])
    return sorted((v for v in found if len(v) >= 3), key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every configured secret replaced by *** and every URL password masked."""
    if not text:
        return text
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, "***")
    text = re.sub(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", lambda m: mask_url(m.group(0)) or "", text)
    return text


def _secret(value: str | None) -> str | None:
    return None if value is None else "***"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, metadata={"mask": mask_url})
    target: str = "dev"
    bbref_url: str = "https://www.basketball-reference.com"
    nba_cdn_url: str = "https://cdn.nba.com"
    nba_stats_url: str = "https://stats.nba.com"
    archive_dir: str = str(PROJECT_ROOT / ".nba_elt" / "archive")
    requests_per_minute: float = 15.0
    slack_webhook_url: str | None = field(default=None, metadata={"mask": _secret})
    ecs_cluster: str = "jacobs-ecs-ec2-cluster"
    ecs_service: str = "nba_elt_dashboard"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    model_dir: str = str(PROJECT_ROOT / ".nba_elt" / "models")
    localdb_dir: str = str(PROJECT_ROOT / ".nba_elt" / "localdb")
    localdb_port: int = 54329
    max_backfill_days: int = 31
    backfill_lock_wait: float = 300.0
    dbt_target_path: str = str(PROJECT_ROOT / "dbt" / "target")
    state_dir: str = DEFAULT_STATE_DIR
    user_agent: str = DEFAULT_USER_AGENT
    request_deadline: float = 120.0
    max_page_mb: float = 20.0
    retry_after_cap: float = 300.0
    db_connect_timeout: int = 10
    db_statement_timeout: float = 300.0

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            masker = f.metadata.get("mask")
            if masker is not None:
                value = masker(value)
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def uses_local_db(self) -> bool:
        return self.database_url is None


def _check_database_url(url: str) -> None:
    """The parts a URL typo breaks, checked before anything connects (the value not shown
    beyond its masked form)."""
    head, _, _, tail = split_userinfo(url)
    if not head:
        raise ConfigError(
            f"NBA_ELT_DATABASE_URL must look like postgresql://user:password@host:5432/db, "
            f"got {mask_url(url)!r}"
        )
    hostport = re.split(r"[/?#]", tail, maxsplit=1)[0]
    if hostport.startswith("["):  # [IPv6]:port
        port = hostport.rpartition("]")[2].removeprefix(":")
    else:
        port = hostport.rpartition(":")[2] if ":" in hostport else ""
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(
            f"NBA_ELT_DATABASE_URL has a port that is not a number from 1 to 65535 "
            f"({mask_url(url)})"
        )


def get_settings() -> Settings:
    """Build the settings from the environment (and `.env`). Raises ConfigError."""
    _load_dotenv()
    target = _env("NBA_ELT_TARGET", "dev")
    if target not in VALID_TARGETS:
        raise ConfigError(
            f"NBA_ELT_TARGET must be one of {', '.join(VALID_TARGETS)}, got {target!r}"
        )
    bbref_url = _base_url("NBA_ELT_BBREF_URL", Settings.bbref_url)
    nba_cdn_url = _base_url("NBA_ELT_NBA_CDN_URL", Settings.nba_cdn_url)
    nba_stats_url = _base_url("NBA_ELT_NBA_STATS_URL", Settings.nba_stats_url)
    webhook = _env("NBA_ELT_SLACK_WEBHOOK_URL")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise ConfigError("NBA_ELT_SLACK_WEBHOOK_URL must be an http(s) URL (value not shown)")
    database_url = _env("NBA_ELT_DATABASE_URL")
    if database_url is not None:
        _check_database_url(database_url)
    return Settings(
        database_url=database_url,
        target=target,
        bbref_url=bbref_url,
        nba_cdn_url=nba_cdn_url,
        nba_stats_url=nba_stats_url,
        archive_dir=_env("NBA_ELT_ARCHIVE_DIR", Settings.archive_dir),
        requests_per_minute=_positive_float("NBA_ELT_REQUESTS_PER_MINUTE", 15.0),
        slack_webhook_url=webhook,
        ecs_cluster=_env("NBA_ELT_ECS_CLUSTER", Settings.ecs_cluster),
        ecs_service=_env("NBA_ELT_ECS_SERVICE", Settings.ecs_service),
        aws_region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1")),
        aws_endpoint_url=_env("NBA_ELT_AWS_ENDPOINT_URL"),
        model_dir=_env("NBA_ELT_MODEL_DIR", Settings.model_dir),
        localdb_dir=_env("NBA_ELT_LOCALDB_DIR", Settings.localdb_dir),
        localdb_port=_positive_int("NBA_ELT_LOCALDB_PORT", 54329),
        max_backfill_days=_positive_int("NBA_ELT_MAX_BACKFILL_DAYS", 31),
        backfill_lock_wait=_non_negative_float("NBA_ELT_BACKFILL_LOCK_WAIT", 300.0),
        dbt_target_path=_env("NBA_ELT_DBT_TARGET_PATH", Settings.dbt_target_path),
        state_dir=_env("NBA_ELT_STATE_DIR", Settings.state_dir),
        user_agent=_env("NBA_ELT_USER_AGENT", DEFAULT_USER_AGENT),
        request_deadline=_positive_float("NBA_ELT_REQUEST_DEADLINE", 120.0),
        max_page_mb=_positive_float("NBA_ELT_MAX_PAGE_MB", 20.0),
        retry_after_cap=_non_negative_float("NBA_ELT_RETRY_AFTER_CAP", 300.0),
        db_connect_timeout=_positive_int("NBA_ELT_DB_CONNECT_TIMEOUT", 10),
        db_statement_timeout=_non_negative_float("NBA_ELT_DB_STATEMENT_TIMEOUT", 300.0),
    )


def current_user() -> str:
    """Who runs this (recorded in the ledgers): the login name, else the numeric uid."""
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"
