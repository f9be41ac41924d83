"""One settings object, read from the environment and an optional .env file.

The variables are the contract of ARCHITECTURE.md §3. Secrets (the password inside
the database URL, the Slack webhook URL) never appear in the repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from nba_elt.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VALID_TARGETS = ("dev", "prod")


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


def mask_url(url: str | None) -> str | None:
    """Hide the password of a URL (scheme://user:***@host/...)."""
    if not url:
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any unparsable URL is masked entirely
        return "***"


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
    return Settings(
        database_url=_env("NBA_ELT_DATABASE_URL"),
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
    )


def current_user() -> str:
    """Who runs this (recorded in the ledgers): the login name, else the numeric uid."""
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"
