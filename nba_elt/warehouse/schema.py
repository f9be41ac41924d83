"""Versioned SQL migrations for the schemas nba_elt owns (nba_source, ops).

Each file in nba_elt/warehouse/migrations/ (NNNN_name.sql) runs once, in its own transaction,
and is recorded in ops.schema_migrations. Applying twice is harmless; two processes
migrating at once are serialised by an advisory lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x6E6261_656C74  # "nba" "elt": one cluster-wide lock id


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("nba_elt.warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version, _, rest = entry.name.partition("_")
        found.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def applied_versions(bind: Connection | Engine) -> set[int]:
    """The migrations recorded in ops.schema_migrations (none before the first one ran)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return applied_versions(conn)
    if bind.execute(text("select to_regclass('ops.schema_migrations')")).scalar() is None:
        return set()
    return set(bind.execute(text("select version from ops.schema_migrations")).scalars())


def migrate(engine: Engine) -> list[Migration]:
    """Apply pending migrations; returns the ones applied now."""
    pending = [m for m in available_migrations() if m.version not in applied_versions(engine)]
    if not pending:
        return []
    applied = []
    with engine.connect() as lock_conn:
        lock_conn.execute(text("select pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        try:
            done = applied_versions(engine)
            for migration in pending:
                if migration.version in done:
                    continue
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        "create schema if not exists ops; "
                        "create table if not exists ops.schema_migrations ("
                        " version integer primary key,"
                        " name text not null,"
                        " applied_at timestamptz not null default now())"
                    )
                    conn.exec_driver_sql(migration.sql)
                    conn.execute(
                        text("insert into ops.schema_migrations (version, name) values (:v, :n)"),
                        {"v": migration.version, "n": migration.name},
                    )
                log.info("applied migration %04d %s", migration.version, migration.name)
                applied.append(migration)
        finally:
            lock_conn.execute(text("select pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            lock_conn.commit()
            from nba_elt.warehouse.load import forget_table_shapes

            forget_table_shapes()  # tables may have changed: read their shapes afresh
    return applied
