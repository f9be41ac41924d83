"""Scratch databases and the machine line shared by the benchmarks."""

from __future__ import annotations

import os
import platform

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def scratch_url(explicit: str | None, name: str) -> str:
    """--database-url, or database `name` on the embedded local Postgres (created if need be)."""
    if explicit:
        return explicit
    from nba_elt.config import get_settings
    from nba_elt.warehouse import localdb

    base = make_url(localdb.ensure_running(get_settings()))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": name})
        if not exists.first():
            conn.exec_driver_sql(f'create database "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def machine_line() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL on the same machine; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end"
    )


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return f"median {median:.2f} (min {ordered[0]:.2f}, max {ordered[-1]:.2f}, n={len(values)})"
