"""A machine without PostgreSQL server binaries: the embedded database runs on those of the
pgserver wheel (a base dependency), and the demo runs on it.

The system's binaries are hidden the way find_pg_bin looks for them: NBA_ELT_PG_BIN unset,
no Debian layout (SYSTEM_PG_ROOT), no initdb on PATH.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from sqlalchemy import create_engine, text

from nba_elt.warehouse.localdb import LocalDb, find_pg_bin, pip_pg_bin
from tests.conftest import use_only_this_cluster

pytestmark = pytest.mark.skipif(pip_pg_bin() is None, reason="no pgserver wheel here")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_system_postgres(monkeypatch, tmp_path):
    monkeypatch.delenv("NBA_ELT_PG_BIN", raising=False)
    monkeypatch.setattr("nba_elt.warehouse.localdb.SYSTEM_PG_ROOT", tmp_path / "no-postgresql")
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not os.path.exists(f"{d}/initdb")]
    monkeypatch.setenv("PATH", os.pathsep.join(path))


@pytest.fixture
def pip_cluster(no_system_postgres, tmp_path):
    db = LocalDb(tmp_path / "localdb", _free_port(), fast_and_unsafe=True)
    yield db
    db.destroy()


def test_without_system_binaries_the_wheel_s_are_found(no_system_postgres):
    found = find_pg_bin(None)
    assert found == pip_pg_bin()
    assert (found / "initdb").exists() and (found / "pg_ctl").exists()


def test_db_up_migrate_and_a_query_on_the_wheel_s_postgres(pip_cluster):
    from nba_elt.warehouse.schema import applied_versions, available_migrations, migrate

    url = pip_cluster.up()
    engine = create_engine(url)
    try:
        migrate(engine)
        assert applied_versions(engine) == {m.version for m in available_migrations()}
        with engine.connect() as conn:
            version = conn.execute(text("show server_version")).scalar()
            flags = conn.execute(text("select count(*) from nba_source.feature_flags")).scalar()
        assert version.startswith("16."), version  # pgserver's, not the system's 15
        assert flags == 3
    finally:
        engine.dispose()
    if os.geteuid() == 0:  # as root the server runs as an unprivileged user, as with 15
        owner = os.stat(pip_cluster.data_dir / "postmaster.pid").st_uid
        assert owner != 0


def test_a_root_whose_venv_the_server_user_cannot_enter_gets_a_reachable_copy(
    no_system_postgres, monkeypatch
):
    import pwd

    from nba_elt.warehouse import localdb

    nobody = pwd.getpwnam("nobody")
    monkeypatch.setattr(localdb, "_traversable_by", lambda path, user: False)
    copied = find_pg_bin(nobody)
    assert copied != pip_pg_bin() and str(copied).startswith("/var/tmp/nba_elt-pgserver-")
    assert os.access(copied / "initdb", os.X_OK)
    assert (copied.parents[2] / "pgserver.libs").exists() or not (
        pip_pg_bin().parents[2] / "pgserver.libs"
    ).exists()
    shutil.rmtree(copied.parents[2])


@pytest.mark.slow
def test_the_demo_runs_on_the_wheel_s_postgres(pip_cluster, monkeypatch):
    from nba_elt.cli.commands import demo_task

    use_only_this_cluster(monkeypatch, pip_cluster)
    result = demo_task()
    assert result.exit_code == 0, result.message
    assert pip_cluster.is_running()
    engine = create_engine(pip_cluster.url("nba_elt_demo"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("show server_version")).scalar().startswith("16.")
            predicted = conn.execute(
                text("select count(*) from ml_models.ml_game_predictions")
            ).scalar()
        assert predicted == 4
    finally:
        engine.dispose()
