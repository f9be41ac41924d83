"""Task bodies for `invoke db.*`."""

from __future__ import annotations

from nba_elt.cli import TaskResult
from nba_elt.config import get_settings
from nba_elt.warehouse import localdb
from nba_elt.warehouse.db import display_url, get_engine, redacted


def up_task() -> TaskResult:
    settings = get_settings()
    if not settings.uses_local_db:
        return TaskResult(
            message="NBA_ELT_DATABASE_URL is set; the embedded Postgres is not used "
            f"(warehouse: {redacted(settings.database_url)})",
            summary={"state": "not used", "url": redacted(settings.database_url)},
        )
    db = localdb.from_settings(settings)
    url = db.up()
    return TaskResult(
        message=f"local Postgres is up at {url} (data: {db.data_dir})",
        summary={"state": "running", "url": url, "data_dir": str(db.data_dir)},
        stdout=url,
    )


def down_task() -> TaskResult:
    settings = get_settings()
    db = localdb.from_settings(settings)
    stopped = db.down()
    message = "local Postgres stopped" if stopped else "local Postgres was not running"
    return TaskResult(message=message, summary={"state": "stopped", "was_running": stopped})


def status_task() -> TaskResult:
    """The warehouse in use: connects, reports the server version and the migration level."""
    from nba_elt.warehouse.db import resolve_url
    from nba_elt.warehouse.status import probe

    settings = get_settings()
    local: dict = {}
    if settings.uses_local_db:
        local = localdb.from_settings(settings).status()
        if not local["running"]:
            return TaskResult(
                message=f"local Postgres stopped (data: {local['data_dir']}); "
                "`invoke db.up` starts it (any task starts it on demand)",
                summary={"connected": False, "local": local},
            )
    status = probe(resolve_url(settings))
    level = status.migration_level if status.migration_level is not None else "none"
    migrations = (
        f"migrations up to date ({level})"
        if status.up_to_date
        else f"migration level {level}, {len(status.pending)} pending: "
        f"{', '.join(status.pending)} (`invoke db.migrate`, or any task, applies them)"
    )
    where = "local Postgres running at" if local else "warehouse (NBA_ELT_DATABASE_URL)"
    return TaskResult(
        message=f"{where} {status.url}: PostgreSQL {status.server_version}, "
        f"database {status.database} as {status.user}; {migrations}",
        summary={"connected": True, **status.as_dict()} | ({"local": local} if local else {}),
    )


def migrate_task() -> TaskResult:
    from nba_elt.warehouse.schema import applied_versions, migrate

    engine = get_engine(migrate=False)
    applied = migrate(engine)
    versions = sorted(applied_versions(engine))
    url = display_url(engine.url)
    if applied:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        message = f"applied {len(applied)} migration(s): {names} on {url}"
    else:
        message = f"schema up to date (version {max(versions)}) on {url}"
    return TaskResult(
        message=message,
        summary={"applied": [m.version for m in applied], "versions": versions, "url": url},
        stdout=url,
    )
