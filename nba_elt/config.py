"""One settings object, read from the environment and an optional .env file.

Each setting is declared once, as a field of `Settings`: its variable, default, parser and
whether it is a secret (docs/architecture.md §3). A secret is never shown (repr, logs,
errors) and may be given as a file instead: ``<NAME>_FILE`` holds the path of a file with
the value (the convention of the official postgres image and of Docker / ECS secrets).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from nba_elt.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VALID_TARGETS = ("dev", "prod")
# Machine-wide (not per clone): every checkout on the machine shares the request budget.
DEFAULT_STATE_DIR = str(Path(tempfile.gettempdir()) / "nba-elt-state")
PROJECT_URL = "https://github.com/nba-elt/nba-elt"  # keep in step with pyproject
DEFAULT_USER_AGENT = f"nba-elt/0.1 (+{PROJECT_URL}; NBA data pipeline, at most 20 requests/minute)"
FILE_SUFFIX = "_FILE"
# Read outside this object: by dbt's macros (set by a refresh for its dbt process, or by
# the operator), by the embedded Postgres' launcher and by the Dagster definitions.
READ_ELSEWHERE = (
    "NBA_ELT_RUN_DATE",
    "NBA_ELT_DBT_TESTS_SINCE",
    "NBA_ELT_PG_BIN",
    "NBA_ELT_DAGSTER_FIRST_DAY",
    "NBA_ELT_DAGSTER_PROVIDER",
)


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


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _read(name: str, secret: bool) -> str | None:
    """The variable's value; for a secret, else the content of the file ``<NAME>_FILE``
    names (its trailing newline stripped). Both set, or a file that cannot be read:
    ConfigError naming the variable, never the value."""
    value = _env(name)
    path = _env(name + FILE_SUFFIX) if secret else None
    if path is None:
        return value
    if value is not None:
        raise ConfigError(f"set {name} or {name}{FILE_SUFFIX}, not both")
    try:
        content = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"{name}{FILE_SUFFIX}: cannot read {path!r} ({why})") from None
    return content.strip() or None


# ---------------------------------------------------------------- parsers: (name, raw) -> value


def _number(kind: type = float, *, zero_ok: bool = False) -> Callable[[str, str], Any]:
    """A number of ``kind`` (int or float), greater than 0 (or 0 and more with zero_ok)."""

    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
        if value < 0 or (value == 0 and not zero_ok):
            bound = "0 or more" if zero_ok else "greater than 0"
            raise ConfigError(f"{name} must be {bound}, got {raw!r}")
        return value

    return parse


def _base_url(name: str, raw: str) -> str:
    url = raw.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {url!r}")
    return url


def _target(name: str, raw: str) -> str:
    if raw not in VALID_TARGETS:
        raise ConfigError(f"{name} must be one of {', '.join(VALID_TARGETS)}, got {raw!r}")
    return raw


def _webhook(name: str, raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL (value not shown)")
    return raw


_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|sslpassword)=([^&#\s]*)")


def split_userinfo(url: str) -> tuple[str, str | None, str | None, str]:
    """(scheme://, user, password, rest after the userinfo) of a URL, read the forgiving way.

    The LAST '@' before the path ends the userinfo, so a password holding an unescaped '@'
    is read whole (SQLAlchemy's parser would cut it there and take the tail for the host).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, None, url
    at = rest.rfind("@", 0, len(re.split(r"[?#]", rest, maxsplit=1)[0]))
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


def _database_url(name: str, url: str) -> str:
    """The parts a URL typo breaks, checked before anything connects (the value not shown
    beyond its masked form)."""
    head, _, _, tail = split_userinfo(url)
    if not head:
        raise ConfigError(
            f"{name} must look like postgresql://user:password@host:5432/db, got {mask_url(url)!r}"
        )
    hostport = re.split(r"[/?#]", tail, maxsplit=1)[0]
    if hostport.startswith("["):  # [IPv6]:port
        port = hostport.rpartition("]")[2].removeprefix(":")
    else:
        port = hostport.rpartition(":")[2] if ":" in hostport else ""
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(
            f"{name} has a port that is not a number from 1 to 65535 ({mask_url(url)})"
        )
    return url


def setting(
    env: str,
    default: Any = None,
    parse: Callable[[str, str], Any] | None = None,
    *,
    secret: bool = False,
    also: tuple[str, ...] = (),
) -> Any:
    """A field of Settings read from the variable ``env`` (else the first of ``also`` set),
    checked by ``parse(env, raw)``. A secret is masked in the repr and may come from
    ``<env>_FILE``."""
    metadata = {"env": env, "parse": parse, "secret": secret, "also": also}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    database_url: str | None = setting("NBA_ELT_DATABASE_URL", None, _database_url, secret=True)
    # the password of database_url's user, apart from the URL (a Docker secret's file)
    database_password: str | None = setting("NBA_ELT_DATABASE_PASSWORD", secret=True)
    target: str = setting("NBA_ELT_TARGET", "dev", _target)
    bbref_url: str = setting("NBA_ELT_BBREF_URL", "https://www.basketball-reference.com", _base_url)
    nba_cdn_url: str = setting("NBA_ELT_NBA_CDN_URL", "https://cdn.nba.com", _base_url)
    nba_stats_url: str = setting("NBA_ELT_NBA_STATS_URL", "https://stats.nba.com", _base_url)
    archive_dir: str = setting("NBA_ELT_ARCHIVE_DIR", str(PROJECT_ROOT / ".nba_elt" / "archive"))
    requests_per_minute: float = setting("NBA_ELT_REQUESTS_PER_MINUTE", 15.0, _number(float))
    slack_webhook_url: str | None = setting(
        "NBA_ELT_SLACK_WEBHOOK_URL", None, _webhook, secret=True
    )
    ecs_cluster: str = setting("NBA_ELT_ECS_CLUSTER", "jacobs-ecs-ec2-cluster")
    ecs_service: str = setting("NBA_ELT_ECS_SERVICE", "nba_elt_dashboard")
    aws_region: str = setting("AWS_REGION", "us-east-1", also=("AWS_DEFAULT_REGION",))
    aws_endpoint_url: str | None = setting("NBA_ELT_AWS_ENDPOINT_URL")
    # None: boto3 finds the credentials itself (profile, instance or task role)
    aws_access_key_id: str | None = setting("AWS_ACCESS_KEY_ID", secret=True)
    aws_secret_access_key: str | None = setting("AWS_SECRET_ACCESS_KEY", secret=True)
    aws_session_token: str | None = setting("AWS_SESSION_TOKEN", secret=True)
    model_dir: str = setting("NBA_ELT_MODEL_DIR", str(PROJECT_ROOT / ".nba_elt" / "models"))
    localdb_dir: str = setting("NBA_ELT_LOCALDB_DIR", str(PROJECT_ROOT / ".nba_elt" / "localdb"))
    localdb_port: int = setting("NBA_ELT_LOCALDB_PORT", 54329, _number(int))
    max_backfill_days: int = setting("NBA_ELT_MAX_BACKFILL_DAYS", 31, _number(int))
    backfill_lock_wait: float = setting(
        "NBA_ELT_BACKFILL_LOCK_WAIT", 300.0, _number(float, zero_ok=True)
    )
    dbt_target_path: str = setting("NBA_ELT_DBT_TARGET_PATH", str(PROJECT_ROOT / "dbt" / "target"))
    state_dir: str = setting("NBA_ELT_STATE_DIR", DEFAULT_STATE_DIR)
    user_agent: str = setting("NBA_ELT_USER_AGENT", DEFAULT_USER_AGENT)
    request_deadline: float = setting("NBA_ELT_REQUEST_DEADLINE", 120.0, _number(float))
    max_page_mb: float = setting("NBA_ELT_MAX_PAGE_MB", 20.0, _number(float))
    retry_after_cap: float = setting("NBA_ELT_RETRY_AFTER_CAP", 300.0, _number(float, zero_ok=True))
    db_connect_timeout: int = setting("NBA_ELT_DB_CONNECT_TIMEOUT", 10, _number(int))
    db_statement_timeout: float = setting(
        "NBA_ELT_DB_STATEMENT_TIMEOUT", 300.0, _number(float, zero_ok=True)
    )

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"]:
                value = mask_url(value) if f.name == "database_url" else value and "***"
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def uses_local_db(self) -> bool:
        return self.database_url is None

    def aws_credentials(self) -> dict[str, str]:
        """The AWS keys configured here, as boto3 takes them ({}: boto3 looks them up)."""
        names = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


SETTINGS = fields(Settings)
SECRET_ENV_NAMES = tuple(f.metadata["env"] for f in SETTINGS if f.metadata["secret"])


def env_names() -> tuple[str, ...]:
    """Every variable a setting is read from (``<NAME>_FILE`` of each secret included, and
    those read by dbt and the local database): what reaches a container."""
    names: list[str] = []
    for f in SETTINGS:
        names += [f.metadata["env"], *f.metadata["also"]]
        if f.metadata["secret"]:
            names.append(f.metadata["env"] + FILE_SUFFIX)
    return (*names, *READ_ELSEWHERE)


def _with_password(url: str, password: str) -> str:
    """database_url with NBA_ELT_DATABASE_PASSWORD as its user's password."""
    head, user, already, tail = split_userinfo(url)
    if not user:
        raise ConfigError(
            "NBA_ELT_DATABASE_PASSWORD needs a user in NBA_ELT_DATABASE_URL "
            "(postgresql://user@host:5432/db)"
        )
    if already is not None:
        raise ConfigError(
            "the database password is set twice: in NBA_ELT_DATABASE_URL and in "
            "NBA_ELT_DATABASE_PASSWORD; keep one"
        )
    return f"{head}{user}:{quote(password, safe='')}@{tail}"


def get_settings() -> Settings:
    """Build the settings from the environment (and `.env`). Raises ConfigError."""
    _load_dotenv()
    values: dict[str, Any] = {}
    for f in SETTINGS:
        meta = f.metadata
        raw = _read(meta["env"], meta["secret"])
        name = meta["env"]
        for other in meta["also"]:
            if raw is None:
                raw, name = _env(other), other
        if raw is not None:
            values[f.name] = meta["parse"](name, raw) if meta["parse"] else raw
    password = values.get("database_password")
    if password is not None:
        if "database_url" not in values:
            raise ConfigError("NBA_ELT_DATABASE_PASSWORD is set but NBA_ELT_DATABASE_URL is not")
        values["database_url"] = _with_password(values["database_url"], password)
    return Settings(**values)


def secret_values(settings: Settings | None = None) -> list[str]:
    """Every secret string of the configuration (``settings``, else the environment and the
    files, read quietly: scrub works whatever the configuration), in each spelling it may
    appear in (raw, percent-decoded, percent-encoded), longest first: what `scrub` removes."""
    found: set[str] = set()
    for f in (f for f in SETTINGS if f.metadata["secret"]):
        if settings is not None:
            value = getattr(settings, f.name)
        else:
            try:
                value = _read(f.metadata["env"], True)
            except ConfigError:
                value = _env(f.metadata["env"])
        candidates = [value]
        if f.name == "database_url" and value:  # its password and query secrets, not the host
            candidates = [split_userinfo(value)[2]]
            candidates += [m.group(2) for m in _SECRET_QUERY.finditer(value)]
        for candidate in filter(None, candidates):
            found |= {candidate, unquote(candidate), quote(unquote(candidate), safe="")}
    return sorted((v for v in found if len(v) >= 3), key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every configured secret replaced by *** and every URL password masked."""
    if not text:
        return text
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, "***")
    text = re.sub(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", lambda m: mask_url(m.group(0)) or "", text)
    return text


def current_user() -> str:
    """Who runs this (recorded in the ledgers): the login name, else the numeric uid."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"
