"""The warehouse connection: the configured database or the embedded local one."""

from __future__ import annotations

import logging
from functools import lru_cache
from urllib.parse import quote, unquote

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from nba_elt.config import Settings, get_settings, mask_url, split_userinfo
from nba_elt.errors import ConfigError, LoadError
from nba_elt.warehouse import localdb
from nba_elt.warehouse.db_errors import cannot_connect

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """The URL with its password hidden, for anything printed or logged."""
    return mask_url(url) or ""


def display_url(url: str | URL) -> str:
    """The warehouse URL as psql takes it (no SQLAlchemy driver suffix), password hidden."""
    try:
        parsed = make_url(str(url)) if not isinstance(url, URL) else url
        return parsed.set(drivername="postgresql").render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return mask_url(str(url)) or ""


def parse_database_url(raw: str) -> URL:
    """NBA_ELT_DATABASE_URL as a SQLAlchemy URL; ConfigError (exit 2) naming what is wrong,
    never showing the password. The password is percent-encoded first, so that an unescaped
    '@', ':' or '/' in it is read as part of it (a percent-encoded one stays as it is)."""
    head, user, password, tail = split_userinfo(raw)
    quoted = raw
    if user is not None and password is not None:
        quoted = f"{head}{user}:{quote(unquote(password), safe='')}@{tail}"
    try:
        url = make_url(quoted)
        url.port  # noqa: B018 - a non-numeric port raises here
    except ArgumentError:
        raise ConfigError("NBA_ELT_DATABASE_URL is not a valid SQLAlchemy URL") from None
    except ValueError:
        raise ConfigError(
            f"NBA_ELT_DATABASE_URL has a port that is not a number ({mask_url(raw)})"
        ) from None
    return url


def resolve_url(settings: Settings) -> str:
    """NBA_ELT_DATABASE_URL, or the embedded local Postgres (started on demand)."""
    if settings.database_url:
        url = parse_database_url(settings.database_url)
        if not url.drivername.startswith("postgresql"):
            raise ConfigError(
                f"NBA_ELT_DATABASE_URL must be a PostgreSQL URL, got driver {url.drivername!r}"
            )
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        return url.render_as_string(hide_password=False)
    return localdb.ensure_running(settings)


@lru_cache(maxsize=8)
def _engine_for(url: str, connect_timeout: int = 10, statement_timeout: float = 0.0) -> Engine:
    connect_args: dict[str, object] = {
        "connect_timeout": connect_timeout,
        # a server that vanished without closing the connection is noticed in ~1 minute
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if statement_timeout:
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    # No pre-ping on every checkout (a round trip each; a backfill checks out per unit):
    # get_engine's "select 1" proves the server answers, a connection the server dropped
    # is discarded by the pool on the error it raises, and the keepalives notice a dead one.
    return create_engine(url, pool_pre_ping=False, future=True, connect_args=connect_args)


def get_engine(settings: Settings | None = None, *, migrate: bool = True) -> Engine:
    """The warehouse engine; applies pending migrations first unless migrate=False."""
    settings = settings or get_settings()
    url = resolve_url(settings)
    engine = _engine_for(url, settings.db_connect_timeout, settings.db_statement_timeout)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
    except OperationalError as exc:
        raise LoadError(
            f"{cannot_connect(exc, display_url(url))}. "
            "Check NBA_ELT_DATABASE_URL, or unset it to use the embedded local Postgres."
        ) from None
    if migrate:
        from nba_elt.warehouse.schema import migrate as apply_migrations

        apply_migrations(engine)
    return engine
