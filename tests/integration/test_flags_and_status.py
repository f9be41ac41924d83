"""`invoke flags` and `invoke db.status` against a real Postgres (and one that is not there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from nba_elt.cli.commands import flags_task, status_task
from nba_elt.config import PROJECT_ROOT
from nba_elt.errors import BadInput, LoadError
from nba_elt.warehouse.schema import available_migrations
from tests.conftest import _free_port


def _invoke(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(NBA_ELT_DATABASE_URL=url, NBA_ELT_LOCALDB_DIR=os.environ["NBA_ELT_LOCALDB_DIR"])
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _enabled(engine) -> dict[str, bool]:
    with engine.connect() as conn:
        rows = conn.execute(text("select flag, is_enabled from nba_source.feature_flags"))
        return {r.flag: r.is_enabled for r in rows}


def test_flags_show_then_switch_a_source_off_and_on(engine):
    shown = flags_task()
    assert shown.summary["changed"] == []
    assert {f["flag"]: f["is_enabled"] for f in shown.summary["flags"]} == {
        "boxscores": True,
        "pbp": True,
        "schedule": True,
    }

    off = flags_task(disable="pbp")
    assert off.summary["changed"] == ["pbp"]
    assert off.message == "changed pbp; enabled: boxscores, schedule"
    assert _enabled(engine)["pbp"] is False

    again = flags_task(disable="pbp")  # already off: nothing written
    assert again.summary["changed"] == [] and again.message.startswith("nothing to change")

    flags_task(enable="pbp")
    assert _enabled(engine) == {"boxscores": True, "pbp": True, "schedule": True}


def test_an_unknown_flag_is_bad_input_and_changes_nothing(engine, db_url):
    with pytest.raises(BadInput, match="unknown feature flag.*pbpp; the flags are"):
        flags_task(disable="schedule,pbpp")
    with pytest.raises(BadInput, match="both --enable and --disable"):
        flags_task(enable="pbp", disable="pbp")
    assert _enabled(engine) == {"boxscores": True, "pbp": True, "schedule": True}

    done = _invoke("flags", "--disable", "nope", url=db_url)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["error_type"] == "BadInput"


def test_db_status_connects_and_reports_version_and_migration_level(engine, db_url):
    latest = available_migrations()[-1]

    status = status_task()

    assert status.summary["connected"] is True
    assert status.summary["server_version"].split(".")[0].isdigit()
    assert status.summary["migration_level"] == latest.version
    assert status.summary["pending"] == []
    assert f"migrations up to date ({latest.version})" in status.message

    with engine.begin() as conn:
        conn.execute(
            text("delete from ops.schema_migrations where version = :v"), {"v": latest.version}
        )
    behind = status_task()
    assert behind.summary["pending"] == [f"{latest.version:04d}_{latest.name}"]
    assert f"{latest.version:04d}_{latest.name}" in behind.message


def test_db_status_of_a_server_that_is_not_there_fails_without_the_password(db_url):
    url = f"postgresql://nba:s3cret-pw@127.0.0.1:{_free_port()}/nba_elt"

    done = _invoke("db.status", url=url)

    assert done.returncode == 1
    line = json.loads(done.stdout.splitlines()[-1])
    assert line["error_type"] == "LoadError"
    assert line["error"].startswith("cannot connect to the warehouse at postgresql://nba:***@")
    assert "s3cret-pw" not in done.stdout + done.stderr


def test_probe_raises_load_error(db_url):
    from nba_elt.warehouse.status import probe

    with pytest.raises(LoadError, match="cannot connect"):
        probe(f"postgresql://nba:pw@127.0.0.1:{_free_port()}/nba_elt")
