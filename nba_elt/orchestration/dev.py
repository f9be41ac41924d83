"""`invoke dagster`: `dagster dev` on nba-elt's definitions, for one machine.

The warehouse is the embedded local Postgres unless NBA_ELT_DATABASE_URL is set (started
and migrated first); Dagster's own storage lives in DAGSTER_HOME, by default the project's
state folder .nba_elt/dagster (it survives a restart, unlike dagster dev's temporary one).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from nba_elt.config import PROJECT_ROOT, get_settings
from nba_elt.errors import EXIT_BAD_INPUT

MODULE = "nba_elt.orchestration.dagster"
# Written once; the operator's to edit (docs/orchestration.md).
INSTANCE_YAML = """\
# Dagster's instance for `invoke dagster` (docs/orchestration.md); edit freely.
# One step at a time per pool: bbref and nba (the sites the source assets fetch from)
# and dbt (builds of the one warehouse).
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".nba_elt" / "dagster")


def serve(port: int = 3000, host: str = "127.0.0.1") -> int:
    """Run `dagster dev` until it is stopped; its exit code."""
    if importlib.util.find_spec("dagster") is None:
        print(
            "invoke dagster: Dagster is not installed: pip install -e '.[dagster]'", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(INSTANCE_YAML)
    settings = get_settings()
    if settings.uses_local_db:
        from nba_elt.warehouse.db import get_engine

        get_engine(settings)  # start the embedded Postgres and migrate it before the UI
    beside = Path(sys.executable).parent / "dagster"
    command = [str(beside) if beside.exists() else "dagster", "dev", "-m", MODULE]
    command += ["--host", host, "--port", str(port)]
    print(f"invoke dagster: DAGSTER_HOME={home}; UI on http://{host}:{port}", file=sys.stderr)
    return subprocess.call(command, env={**os.environ, "DAGSTER_HOME": str(home)}, cwd=PROJECT_ROOT)
