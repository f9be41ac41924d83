"""Issue #11, the database side: a database lost mid-run, a frozen one, a statement that
runs too long. The faults come from tests/faulty_db.py, a TCP proxy in front of the
real test Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from nba_elt.cli.commands import backfill_task
from nba_elt.config import get_settings
from nba_elt.errors import DatabaseLost, LoadError
from nba_elt.ingest import ledger
from nba_elt.warehouse.db import _engine_for, get_engine
from nba_elt.warehouse.db_errors import database_error
from tests.faulty_db import DbProxy

DEN = "/boxscores/pbp/201901010DEN.html"
GSW = "/boxscores/pbp/201810160GSW.html"


@pytest.fixture
def proxy(pg_cluster, db_url, monkeypatch):
    """NBA_ELT_DATABASE_URL goes through the proxy to this test's database."""
    front = DbProxy(pg_cluster.port)
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", front.url(make_url(db_url).database))
    _engine_for.cache_clear()
    yield front
    front.close()
    _engine_for.cache_clear()


def test_a_database_lost_mid_run_ends_with_one_line_and_a_resume_command(
    faulty_site, proxy, engine
):
    faulty_site.on_request[GSW] = proxy.cut  # the database dies while the page is fetched
    with pytest.raises(DatabaseLost) as caught:
        backfill_task(games="201901010DEN,201810160GSW", sources="pbp")  # GSW runs first
    message = str(caught.value)
    assert "\n" not in message and caught.value.terminal
    assert "pbp 201810160GSW" in message
    assert "invoke backfill --resume 1" in message
    assert faulty_site.hits(DEN) == 0  # the run stopped there
    del faulty_site.on_request[GSW]
    proxy.restore()
    # the next backfill (or any sweep) marks the run interrupted: its process let go of it
    assert ledger.mark_interrupted_runs(engine) == [1]
    with engine.connect() as conn:
        status = conn.execute(text("select status from ops.backfill_runs where id = 1"))
        assert status.scalar_one() == "interrupted"
        assert conn.execute(text("select count(*) from nba_source.pbp")).scalar_one() == 0
    resumed = backfill_task(resume="1")
    assert resumed.exit_code == 0
    assert [u["status"] for u in resumed.summary["units"]] == ["succeeded", "succeeded"]


def test_the_cli_prints_no_traceback_when_the_database_is_lost(faulty_site, proxy, capsys):
    from invoke import Exit

    from nba_elt.cli import run_task

    faulty_site.on_request[DEN] = proxy.cut
    with pytest.raises(Exit) as caught:
        run_task("backfill", lambda: backfill_task(games="201901010DEN", sources="pbp"))
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "DatabaseLost" in err and "--resume" in err


def test_a_frozen_database_fails_within_the_connect_timeout(proxy, monkeypatch):
    monkeypatch.setenv("NBA_ELT_DB_CONNECT_TIMEOUT", "1")
    proxy.freeze()
    with pytest.raises(LoadError, match="cannot connect to the warehouse"):
        get_engine(get_settings())


def test_a_statement_past_the_statement_timeout_is_cancelled(db_url, monkeypatch):
    monkeypatch.setenv("NBA_ELT_DB_STATEMENT_TIMEOUT", "0.2")
    engine = get_engine(get_settings(), migrate=False)
    with pytest.raises(Exception) as caught, engine.connect() as conn:
        conn.execute(text("select pg_sleep(5)"))
    error = database_error(caught.value, "a test")
    assert type(error) is LoadError and "NBA_ELT_DB_STATEMENT_TIMEOUT" in str(error)
