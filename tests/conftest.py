"""Shared fixtures: one real PostgreSQL cluster per test session, a clean database per test.

The cluster is the project's own embedded Postgres (nba_elt.warehouse.localdb) in a temporary folder
on a free port, so it works as root (the server runs as an unprivileged user) and as a
normal user. A template database holds the migrated schema; each test that asks for
`db_url` gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), which takes milliseconds.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import create_engine

from nba_elt.warehouse.localdb import LocalDb

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE_DB = "nba_elt_template"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_sql(cluster: LocalDb, sql: str) -> None:
    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def use_only_this_cluster(mp: pytest.MonkeyPatch, cluster: LocalDb) -> None:
    """Make `cluster` the embedded Postgres of the tasks run in-process (the demo's own
    database lives there), with no other NBA_ELT_ setting and no .env file."""
    for key in list(os.environ):
        if key.startswith("NBA_ELT_"):
            mp.delenv(key)
    mp.setenv("NBA_ELT_LOCALDB_DIR", str(cluster.base_dir))
    mp.setenv("NBA_ELT_LOCALDB_PORT", str(cluster.port))
    mp.setattr("nba_elt.config._load_dotenv", lambda: None)


@pytest.fixture(scope="session")
def pg_cluster():
    """A running throwaway cluster for the whole session."""
    base = Path(tempfile.mkdtemp(prefix="nba_elt_test_pg_", dir="/var/tmp"))
    os.chmod(base, 0o755)
    cluster = LocalDb(base / "cluster", _free_port(), fast_and_unsafe=True)
    cluster.up()
    engine = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'create database "{TEMPLATE_DB}"')
    engine.dispose()
    from nba_elt.warehouse.schema import migrate

    template_engine = create_engine(cluster.url(TEMPLATE_DB))
    migrate(template_engine)
    template_engine.dispose()
    yield cluster
    cluster.destroy()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def db_url(pg_cluster, monkeypatch) -> str:
    """A fresh migrated database for this test; NBA_ELT_DATABASE_URL points at it."""
    name = f"t{os.getpid()}_{next(_counter)}"
    _admin_sql(pg_cluster, f'create database "{name}" template "{TEMPLATE_DB}"')
    url = pg_cluster.url(name)
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", url)
    yield url
    from nba_elt.warehouse.db import _engine_for

    _engine_for.cache_clear()
    _admin_sql(pg_cluster, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def engine(db_url):
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's settings, .env or archive."""
    for key in list(os.environ):
        if key.startswith("NBA_ELT_") or key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", str(tmp_path / "archive"))
    # No test reaches the NBA's real hosts: unless a test serves them (nba_site), they
    # refuse connections at once (port 9, discard, on loopback).
    monkeypatch.setenv("NBA_ELT_NBA_CDN_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NBA_ELT_NBA_STATS_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NBA_ELT_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NBA_ELT_LOCALDB_DIR", str(tmp_path / "no-localdb"))
    monkeypatch.setenv("NBA_ELT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("nba_elt.config._load_dotenv", lambda: None)


@pytest.fixture
def bbref_site(httpserver, monkeypatch):
    """The recorded basketball-reference pages on a local server (tests/recorded_site.py).

    NBA_ELT_BBREF_URL points at it, the request budget is lifted and the HTTP client's
    sleeps are recorded in ``bbref_site.sleeps`` instead of waited.
    """
    from tests.recorded_site import RecordedSite

    site = RecordedSite(httpserver)
    monkeypatch.setenv("NBA_ELT_BBREF_URL", site.url)
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", "60000")
    monkeypatch.setattr("nba_elt.extract.http.default_sleep", site.sleep)
    return site


@pytest.fixture
def nba_site(bbref_site, monkeypatch):
    """bbref_site serving the recorded NBA responses too (tests/recorded_site.NBA_PAGES):
    NBA_ELT_NBA_CDN_URL and NBA_ELT_NBA_STATS_URL point at the same local server (the two
    providers' paths never collide). The CDN has no recording: its paths answer 404
    unless a test adds a page."""
    from tests.recorded_site import NBA_PAGES

    bbref_site.pages.update(NBA_PAGES)
    monkeypatch.setenv("NBA_ELT_NBA_CDN_URL", bbref_site.url)
    monkeypatch.setenv("NBA_ELT_NBA_STATS_URL", bbref_site.url)
    return bbref_site


@pytest.fixture
def faulty_site(monkeypatch):
    """tests/faulty_site.py on 127.0.0.1: recorded pages with injected faults.

    NBA_ELT_BBREF_URL points at it and the request budget is lifted; the client's sleeps
    are recorded in ``faulty_site.sleeps`` (not waited) unless a test puts time.sleep back.
    """
    from tests.faulty_site import FaultySite

    site = FaultySite()
    site.sleeps = []
    monkeypatch.setenv("NBA_ELT_BBREF_URL", site.url)
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", "60000")
    monkeypatch.setattr("nba_elt.extract.http.default_sleep", site.sleeps.append)
    yield site
    site.close()


@pytest.fixture(autouse=True)
def _restore_root_logging():
    """A task run inside a test installs its handlers on the root logger; take them away
    after the test, so no later test logs through a handler bound to a closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
