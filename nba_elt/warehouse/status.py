"""What `invoke db.status` reports: can we connect, which server, which migration level."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from nba_elt.warehouse.schema import applied_versions, available_migrations

CONNECT_TIMEOUT_SECONDS = 10


@dataclass
class WarehouseStatus:
    url: str  # password hidden
    server_version: str
    database: str
    user: str
    migration_level: int | None  # the highest migration applied; None: never migrated
    latest_migration: int
    pending: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"up_to_date": self.up_to_date}


def probe(url: str) -> WarehouseStatus:
    """Connect (at most CONNECT_TIMEOUT_SECONDS), read the server version and the migrations.

    Applies nothing. LoadError, with the password hidden, when the server does not answer.
    """
    from nba_elt.config import mask_url
    from nba_elt.warehouse.db import cannot_connect, display_url

    parsed = make_url(url)
    shown = mask_url(display_url(parsed)) or ""  # a password= query parameter too
    connect_args = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(parsed, connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("show server_version")).scalar()
            database, user = conn.execute(text("select current_database(), current_user")).one()
            applied = applied_versions(conn)
    except OperationalError as exc:
        raise cannot_connect(exc, shown) from None
    finally:
        engine.dispose()
    migrations = available_migrations()
    return WarehouseStatus(
        url=shown,
        server_version=str(version),
        database=database,
        user=user,
        migration_level=max(applied) if applied else None,
        latest_migration=migrations[-1].version if migrations else 0,
        pending=[f"{m.version:04d}_{m.name}" for m in migrations if m.version not in applied],
    )
