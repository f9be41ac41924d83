"""`invoke dagster`: `dagster dev` on nba-elt's definitions, for one machine.

The warehouse is the embedded local Postgres unless NBA_ELT_DATABASE_URL is set (started
and migrated first); Dagster's own storage lives in DAGSTER_HOME, by default the project's
state folder .nba_elt/dagster (it survives a restart, unlike dagster dev's temporary one).
"""

import importlib.util
import os
import sys
from pathlib import Path

from nba_elt.config import PROJECT_ROOT, get_settings
from nba_elt.errors import EXIT_BAD_INPUT, NbaEltError

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
    """Become `dagster dev`; return an exit code only when it cannot (no Dagster: 2)."""
    if importlib.util.find_spec("dagster") is None:
        print(
            "invoke dagster: Dagster is not installed: pip install -e '.[dagster]'", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    try:
        settings = get_settings()
        if settings.uses_local_db:  # start the embedded Postgres, migrate it, before the UI
            from nba_elt.warehouse.db import get_engine

            get_engine(settings).dispose()
    except NbaEltError as exc:
        print(f"invoke dagster: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exc.exit_code
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    # Dagster's storage made, and the pools' rows, before any run: two runs doing either
    # at once collide (docs/orchestration.md)
    with dg.DagsterInstance.get() as instance:
        initialize_pools(instance)
    beside = Path(sys.executable).parent / "dagster"
    command = [str(beside) if beside.exists() else "dagster", "dev", "-m", MODULE]
    command += ["--host", host, "--port", str(port)]
    print(f"invoke dagster: DAGSTER_HOME={home}; UI on http://{host}:{port}", file=sys.stderr)
    sys.stderr.flush()
    # dagster dev takes this process's place: Ctrl-C reaches it alone, and it stops its
    # webserver, daemon and code server itself
    os.chdir(PROJECT_ROOT)
    os.execvpe(command[0], command, os.environ)


def initialize_pools(instance) -> list[str]:
    """Give each of nba-elt's pools its row at the instance's default limit, before any run.

    Dagster creates a pool's row when a step first claims it; two runs doing that in the
    same instant both insert it and, on Postgres storage, one of them fails (a unique
    violation, and its fallback update runs in the aborted transaction). The same update
    fails a run whenever `default_limit` changed, so such a row is made again here.
    Returns the pools (re)initialized; a limit set in the UI or the CLI is left alone.
    """
    from nba_elt.orchestration.partitions import POOLS

    default = instance.get_concurrency_config().pool_config.default_pool_limit
    if default is None:
        return []
    storage = instance.event_log_storage
    limits = {pool.name: pool for pool in storage.get_pool_limits()}
    stale = [
        name
        for name in POOLS
        if name not in limits or (limits[name].from_default and limits[name].limit != default)
    ]
    for name in stale:
        if name in limits:
            storage.delete_concurrency_limit(name)
        storage.initialize_concurrency_limit_to_default(name)
    return stale
