"""The warehouse connection: the configured database or the embedded local one."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from nba_elt.config import Settings, get_settings, mask_url
from nba_elt.errors import ConfigError, LoadError
from nba_elt.warehouse import localdb

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """The URL with its password hidden, for anything printed or logged."""
    return mask_url(url) or ""


def display_url(url: str | URL) -> str:
    """The warehouse URL as psql takes it (no SQLAlchemy driver suffix), password hidden."""
    parsed = make_url(str(url)) if not isinstance(url, URL) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)


def resolve_url(settings: Settings) -> str:
    """NBA_ELT_DATABASE_URL, or the embedded local Postgres (started on demand)."""
    if settings.database_url:
        try:
            url = make_url(settings.database_url)
        except ArgumentError:
            raise ConfigError("NBA_ELT_DATABASE_URL is not a valid SQLAlchemy URL") from None
        if not url.drivername.startswith("postgresql"):
            raise ConfigError(
                f"NBA_ELT_DATABASE_URL must be a PostgreSQL URL, got driver {url.drivername!r}"
            )
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        return url.render_as_string(hide_password=False)
    return localdb.ensure_running(settings)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    # No pre-ping on every checkout (a round trip each; a backfill checks out per unit):
    # get_engine's "select 1" proves the server answers, and a connection the server
    # dropped is discarded by the pool on the error it raises.
    return create_engine(url, pool_pre_ping=False, future=True)


def get_engine(settings: Settings | None = None, *, migrate: bool = True) -> Engine:
    """The warehouse engine; applies pending migrations first unless migrate=False."""
    settings = settings or get_settings()
    url = resolve_url(settings)
    engine = _engine_for(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise LoadError(
            f"cannot connect to the warehouse at {display_url(url)}: {reason}. "
            "Check NBA_ELT_DATABASE_URL, or unset it to use the embedded local Postgres."
        ) from None
    if migrate:
        from nba_elt.warehouse.schema import migrate as apply_migrations

        apply_migrations(engine)
    return engine
