"""Issue #11 items 6 and 7: no secret in any output, file or table, in any URL form; bad
input refused with exit 2 before anything is written (not even a ledger run)."""

from __future__ import annotations

import json
import logging

import pytest
from invoke import Exit
from sqlalchemy import text
from sqlalchemy.engine import make_url

from nba_elt.cli import run_task
from nba_elt.cli.commands import backfill_task, status_task
from nba_elt.config import get_settings, mask_url, scrub
from nba_elt.errors import EXIT_BAD_INPUT, BadInput, ConfigError
from tests.faulty_site import Status

PASSWORD = "Sup3r$ecret@pass"  # a synthetic secret with an unescaped '@'
FORMS = {
    "userinfo, unescaped @": "postgresql://nba:{pw}@127.0.0.1:{port}/{db}",
    "userinfo, percent-encoded": "postgresql://nba:{quoted}@127.0.0.1:{port}/{db}",
    "query parameter": "postgresql://nba@127.0.0.1:{port}/{db}?password={quoted}",
}


def _url(form: str, port: int, db: str = "nba") -> str:
    from urllib.parse import quote

    return FORMS[form].format(pw=PASSWORD, quoted=quote(PASSWORD, safe=""), port=port, db=db)


def _leaks(output: str) -> list[str]:
    from urllib.parse import quote

    pieces = [PASSWORD, quote(PASSWORD, safe=""), "Sup3r", "pass@127", "3r$ecr"]
    return [p for p in pieces if p in output]


@pytest.mark.parametrize("form", list(FORMS))
def test_masking_every_url_form(form):
    url = _url(form, 5432)
    assert _leaks(mask_url(url)) == []
    assert "127.0.0.1:5432" in mask_url(url)  # the host stays: it helps the operator


@pytest.mark.parametrize("form", list(FORMS))
def test_no_secret_in_errors_logs_or_json_when_the_database_is_unreachable(
    form, monkeypatch, capsys, caplog
):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", _url(form, port))
    with pytest.raises(Exit) as caught:
        run_task(
            "backfill", lambda: backfill_task(date="2018-01-01", sources="schedule"), as_json=True
        )
    assert caught.value.code == 1
    out = capsys.readouterr()
    assert "cannot connect to the warehouse" in out.err
    assert _leaks(out.out + out.err + caplog.text) == []
    assert json.loads(out.out.strip().splitlines()[-1])["exit_code"] == 1


@pytest.mark.parametrize("form", list(FORMS))
def test_db_status_masks_the_password(form, monkeypatch):
    """db.status connects (issue 12): a server that is not there is a LoadError, masked."""
    import socket

    from nba_elt.errors import LoadError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", _url(form, port))
    with pytest.raises(LoadError, match="cannot connect to the warehouse at") as caught:
        status_task()
    assert _leaks(str(caught.value)) == []


def test_no_secret_in_the_ledger_or_the_logs_of_a_real_run(
    pg_cluster, db_url, faulty_site, monkeypatch, caplog
):
    """A password-protected role on the real test Postgres; the run goes through it."""
    from urllib.parse import quote

    from sqlalchemy import create_engine

    admin = create_engine(pg_cluster.url(make_url(db_url).database), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"create role nba login superuser password '{PASSWORD}'"))
    admin.dispose()
    url = f"postgresql://nba:{PASSWORD}@127.0.0.1:{pg_cluster.port}/{make_url(db_url).database}"
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", url)
    caplog.set_level(logging.DEBUG)
    faulty_site.fault("/leagues/NBA_2018_games-january.html", Status(500))  # a failed unit
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    assert result.summary["units"]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        dump = json.dumps(
            [
                [dict(r) for r in conn.execute(text(f"select * from {t}")).mappings()]
                for t in ("ops.backfill_runs", "ops.backfill_units")
            ],
            default=str,
        )
    engine.dispose()
    assert _leaks(dump + caplog.text + json.dumps(result.summary)) == []
    assert quote(PASSWORD, safe="") not in scrub(f"oops {quote(PASSWORD, safe='')}")


def test_dbt_gets_the_password_only_through_its_secret_variable(monkeypatch):
    from nba_elt.transform.build import dbt_env

    monkeypatch.setenv("NBA_ELT_DATABASE_URL", _url("query parameter", 5432))
    env = dbt_env(make_url(_url("query parameter", 5432)), "dev")
    assert env["DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD"] == PASSWORD
    others = {k: v for k, v in env.items() if k != "DBT_ENV_SECRET_NBA_ELT_DBT_PASSWORD"}
    assert _leaks(json.dumps(others)) == []


# ---------------------------------------------------------------- bad input


def _nothing_written(engine) -> None:
    with engine.connect() as conn:
        for table in ("ops.backfill_runs", "ops.backfill_units", "nba_source.schedule"):
            assert conn.execute(text(f"select count(*) from {table}")).scalar_one() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"games": "201901010ZZZ"},
        {"games": "201901010DEN,2019010100DEN"},
        {"games": ""},
        {"date": "2018-02-30"},
        {"date": "18-01-01"},
        {"start": "2018-01-02", "end": "2018-01-01"},
        {"date": "2018-01-01", "sources": "pbp,odds"},
        {"date": "2018-01-01", "sources": "-x"},
        {"resume": "-1"},
        {"resume": "1; drop table x"},
        {"resume": "99"},
    ],
)
def test_bad_backfill_input_exits_2_and_writes_nothing(faulty_site, engine, kwargs, capsys):
    with pytest.raises(Exit) as caught:
        run_task("backfill", lambda: backfill_task(**kwargs))
    assert caught.value.code == EXIT_BAD_INPUT
    assert "Traceback" not in capsys.readouterr().err
    _nothing_written(engine)
    assert sum(faulty_site.requests.values()) == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nba:pw@db.internal:abc/nba",
        "postgresql://nba:pw@db.internal:99999/nba",
        "postgresql://nba:pw@db.internal:-5/nba",
        "not a url",
    ],
)
def test_a_malformed_database_url_is_bad_input(url, monkeypatch, capsys):
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", url)
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert caught.value.exit_code == EXIT_BAD_INPUT and "pw" not in str(caught.value)
    with pytest.raises(Exit) as exited:
        run_task("backfill", lambda: backfill_task(date="2018-01-01"))
    assert exited.value.code == EXIT_BAD_INPUT
    assert "Traceback" not in capsys.readouterr().err


def test_refresh_refuses_a_select_that_is_a_flag_before_anything_runs(db_url):
    from nba_elt import refresh as refresh_task

    with pytest.raises(BadInput, match="starts with '-'"):
        refresh_task(select="--full-refresh")
    with pytest.raises(BadInput, match="starts with '-'"):
        refresh_task(select="staging -x")


@pytest.mark.slow
def test_refresh_refuses_a_select_that_matches_no_dbt_node(engine):
    """Runs `dbt ls` (about 10 s): the selection is checked before the ledger is touched."""
    from nba_elt import refresh as refresh_task

    with pytest.raises(BadInput, match="matches no dbt"):
        refresh_task(select="no_such_model_anywhere")
    with pytest.raises(BadInput, match="not a valid dbt selection"):
        refresh_task(select="nosuchmethod:x")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from ops.refresh_runs")).scalar_one() == 0
