"""The foundation: schema bootstrap on a real Postgres, the settings object, the tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from nba_elt.warehouse.schema import applied_versions, available_migrations, migrate

EXPECTED_KEYS = {
    ("nba_source", "schedule"): ["game_id"],
    ("nba_source", "boxscores"): ["game_id", "player_id"],
    ("nba_source", "pbp"): ["game_id", "event_idx"],
    ("nba_source", "feature_flags"): ["flag"],
    ("ops", "backfill_runs"): ["id"],
    ("ops", "backfill_units"): ["run_id", "source", "unit_key"],
}


def _primary_key(conn, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        text(
            """
            select a.attname
            from pg_index i
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            where i.indrelid = (quote_ident(:s) || '.' || quote_ident(:t))::regclass
              and i.indisprimary
            order by array_position(i.indkey, a.attnum)
            """
        ),
        {"s": schema, "t": table},
    )
    return [r[0] for r in rows]


def test_tables_have_the_contract_primary_keys(engine):
    with engine.connect() as conn:
        for (schema, table), key in EXPECTED_KEYS.items():
            assert _primary_key(conn, schema, table) == key, f"{schema}.{table}"


def test_every_table_has_loaded_at_and_not_null_keys(engine):
    with engine.connect() as conn:
        for (schema, table), key in EXPECTED_KEYS.items():
            cols = dict(
                conn.execute(
                    text(
                        "select column_name, is_nullable from information_schema.columns "
                        "where table_schema = :s and table_name = :t"
                    ),
                    {"s": schema, "t": table},
                ).all()
            )
            assert all(cols[c] == "NO" for c in key)
            if schema == "nba_source":
                assert "_loaded_at" in cols


def test_migrate_twice_is_harmless(engine):
    assert migrate(engine) == []
    assert applied_versions(engine) == {m.version for m in available_migrations()}


def test_migrations_apply_to_an_empty_database(pg_cluster):
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("drop database if exists fresh_migrate")
        conn.exec_driver_sql("create database fresh_migrate")
    fresh = create_engine(pg_cluster.url("fresh_migrate"))
    try:
        applied = migrate(fresh)
        assert [m.version for m in applied] == [m.version for m in available_migrations()]
        with fresh.connect() as conn:
            flags = conn.execute(text("select flag from nba_source.feature_flags")).scalars()
            assert set(flags) == {"schedule", "boxscores", "pbp"}
    finally:
        fresh.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql("drop database fresh_migrate with (force)")
        admin.dispose()


def test_get_engine_uses_configured_url_and_migrates(pg_cluster, monkeypatch):
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("drop database if exists via_settings")
        conn.exec_driver_sql("create database via_settings")
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", pg_cluster.url("via_settings"))
    from nba_elt.warehouse.db import _engine_for, get_engine

    engine = get_engine()
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select count(*) from ops.schema_migrations")).scalar() >= 1
    finally:
        engine.dispose()
        _engine_for.cache_clear()
        with admin.connect() as conn:
            conn.exec_driver_sql("drop database via_settings with (force)")
        admin.dispose()


def test_unreachable_database_is_a_clear_error_without_password(monkeypatch):
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", "postgresql://bob:hunter2@127.0.0.1:1/nope")
    from nba_elt.errors import LoadError
    from nba_elt.warehouse.db import get_engine

    with pytest.raises(LoadError) as err:
        get_engine()
    assert "hunter2" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value)
