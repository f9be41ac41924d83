"""Which sources a plain `invoke refresh` builds: the backfill ledger against ops.refresh_runs."""

from __future__ import annotations

from sqlalchemy import text

from nba_elt.transform import ledger as refresh_ledger


def _backfill(conn, source: str, rows: int, finished: str, status: str = "succeeded") -> None:
    run_id = conn.execute(
        text(
            "insert into ops.backfill_runs (args, status, user_name) "
            "values ('{}'::jsonb, 'succeeded', 'test') returning id"
        )
    ).scalar_one()
    conn.execute(
        text(
            "insert into ops.backfill_units (run_id, source, unit_key, status, rows_written, "
            "started_at, finished_at) values (:r, :s, '2018-01-01', :st, :n, "
            "cast(:f as timestamptz) - interval '1 second', cast(:f as timestamptz))"
        ),
        {"r": run_id, "s": source, "st": status, "n": rows, "f": finished},
    )


def _refresh(conn, started: str, sources: list[str] | None, status: str = "succeeded") -> None:
    conn.execute(
        text(
            "insert into ops.refresh_runs (status, started_at, sources, selection) "
            "values (:st, cast(:t as timestamptz), :src, :sel)"
        ),
        {"st": status, "t": started, "src": sources, "sel": " ".join(sources or []) or None},
    )


def test_no_refresh_on_record_means_build_everything(engine):
    with engine.begin() as conn:
        _backfill(conn, "boxscores", 82, "2026-01-01 10:00+00")
    assert refresh_ledger.changed_sources(engine) is None
    assert not refresh_ledger.any_succeeded(engine)


def test_sources_written_after_the_last_refresh_covering_them(engine):
    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 09:00+00", None)  # a full build
        _backfill(conn, "schedule", 4, "2026-01-01 08:00+00")  # before it: built
        _backfill(conn, "boxscores", 82, "2026-01-01 10:00+00")  # after it
        _backfill(conn, "pbp", 0, "2026-01-01 10:00+00")  # wrote nothing
        _backfill(conn, "schedule", 4, "2026-01-01 10:30+00", status="failed")
    assert refresh_ledger.changed_sources(engine) == ["boxscores"]

    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 11:00+00", ["pbp"])  # covers pbp only
        _refresh(conn, "2026-01-01 12:00+00", ["boxscores"], status="failed")
    assert refresh_ledger.changed_sources(engine) == ["boxscores"]

    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 13:00+00", ["boxscores"])
    assert refresh_ledger.changed_sources(engine) == []


def test_tested_since_is_the_last_successful_refresh_covering_every_source(engine):
    """The facts' tests of a refresh by source look at the games loaded since then."""
    import datetime as dt

    def at(clock: str) -> dt.datetime:
        return dt.datetime.fromisoformat(f"2026-01-01 {clock}+00:00")

    assert refresh_ledger.tested_since(engine) is None  # never refreshed: test everything
    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 09:00+00", ["schedule", "boxscores"])
    assert refresh_ledger.tested_since(engine) is None  # pbp never tested
    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 10:00+00", None)  # a full build covers everything
        _refresh(conn, "2026-01-01 11:00+00", ["pbp"])
    assert refresh_ledger.tested_since(engine) == at("10:00")  # schedule, boxscores: 10:00
    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 12:00+00", ["schedule", "boxscores", "pbp"], status="failed")
    assert refresh_ledger.tested_since(engine) == at("10:00")  # a failed one moves nothing
    with engine.begin() as conn:
        _refresh(conn, "2026-01-01 13:00+00", ["schedule", "boxscores", "pbp"])
    assert refresh_ledger.tested_since(engine) == at("13:00")


def test_a_refresh_stopped_by_ctrl_c_or_sigterm_is_recorded_interrupted(engine):
    """finish() runs in the refresh's `finally:`; a KeyboardInterrupt (Ctrl-C, or SIGTERM as
    run_task raises it) passing through makes the run `interrupted`, not `failed`."""
    import datetime as dt

    import pytest

    run_id = refresh_ledger.start(engine, [], None, True, dt.date(2018, 1, 1), "dev")
    with pytest.raises(KeyboardInterrupt):
        try:
            raise KeyboardInterrupt
        finally:
            refresh_ledger.finish(engine, run_id, None)
    query = text("select status, finished_at is not null from ops.refresh_runs where id = :i")
    with engine.connect() as conn:
        assert tuple(conn.execute(query, {"i": run_id}).one()) == ("interrupted", True)
