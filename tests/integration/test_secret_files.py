"""Issue 20 item 4: a secret setting given as a file (``<NAME>_FILE``, as Docker and ECS
mount secrets) reaches a real task, and the value is shown nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nba_elt.config import PROJECT_ROOT

PASSWORD = "F1le$ecret@pw"  # synthetic, with an unescaped '@'


def _invoke_with(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_ELT_")}
    env.update(NBA_ELT_LOCALDB_DIR=os.environ["NBA_ELT_LOCALDB_DIR"], **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _password_role(pg_cluster, db_url: str) -> tuple[str, str]:
    """(role, "host:port/db"): this test's database, reached as a role of its own whose
    password is PASSWORD."""
    database = make_url(db_url).database
    admin = create_engine(pg_cluster.url(database), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"create role nba_{database} login superuser password '{PASSWORD}'"))
    admin.dispose()
    return f"nba_{database}", f"127.0.0.1:{pg_cluster.port}/{database}"


def test_a_task_reads_the_database_url_from_its_file(pg_cluster, db_url, tmp_path):
    role, where = _password_role(pg_cluster, db_url)
    secret = tmp_path / "database_url"
    secret.write_text(f"postgresql://{role}:{PASSWORD}@{where}\n")
    done = _invoke_with({"NBA_ELT_DATABASE_URL_FILE": str(secret)}, "db.status")
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert (line["status"], line["user"]) == ("succeeded", role)  # the file's URL was used
    assert PASSWORD not in done.stdout + done.stderr


def test_the_password_alone_from_a_file_joins_the_url(pg_cluster, db_url, tmp_path):
    role, where = _password_role(pg_cluster, db_url)
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    env = {
        "NBA_ELT_DATABASE_URL": f"postgresql://{role}@{where}",
        "NBA_ELT_DATABASE_PASSWORD_FILE": str(secret),
    }
    done = _invoke_with(env, "flags")
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert {f["flag"] for f in line["flags"]} == {"schedule", "boxscores", "pbp"}
    assert "F1le" not in done.stdout + done.stderr


def test_both_the_value_and_its_file_is_bad_input(db_url, tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text(db_url)
    both = _invoke_with(
        {"NBA_ELT_DATABASE_URL": db_url, "NBA_ELT_DATABASE_URL_FILE": str(secret)}, "flags"
    )
    assert both.returncode == 2
    assert "set NBA_ELT_DATABASE_URL or NBA_ELT_DATABASE_URL_FILE, not both" in both.stderr
