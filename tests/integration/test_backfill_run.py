"""The backfill against a real Postgres and the recorded pages on a local HTTP server.

In-process (backfill_task) for speed; tests/integration/test_backfill_cli.py drives the
real `invoke backfill` in subprocesses (exit codes, kill -9 and resume, concurrency).
"""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from nba_elt.cli.commands import backfill_task
from nba_elt.errors import BadInput

DAILY_JAN1 = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
PBP_GAMES = "201901010DEN,201810160GSW,201810270MIL"


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _ledger(engine, run_id: int) -> dict[tuple[str, str], dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("select * from ops.backfill_units where run_id = :r"), {"r": run_id}
        ).mappings()
        return {(r["source"], r["unit_key"]): dict(r) for r in rows}


def _run(engine, run_id: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(text("select * from ops.backfill_runs where id = :r"), {"r": run_id})
            .mappings()
            .one()
        )


def _counts_of_everything(engine) -> dict[str, int]:
    tables = ["nba_source.schedule", "nba_source.boxscores", "nba_source.pbp"]
    tables += ["ops.backfill_runs", "ops.backfill_units"]
    return {t: _count(engine, f"select count(*) from {t}") for t in tables}


def test_dry_run_prints_the_plan_and_writes_nothing(bbref_site, engine, tmp_path, capsys):
    before = _counts_of_everything(engine)
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores,pbp", dry_run=True)
    assert result.exit_code == 0
    plan = result.summary["plan"]
    assert [(u["source"], u["unit_key"]) for u in plan["units"]] == [
        ("schedule", "2018-01-01"),
        ("boxscores", "2018-01-01"),
        ("pbp", "2018-01-01"),  # the listing unit: the games come from the schedule unit
    ]
    assert plan["pages_in_archive"] == 0
    assert any(p.endswith("/leagues/NBA_2018_games-january.html") for p in plan["pages"])
    assert "pbp games of 1 day(s)" in " ".join(plan["notes"])
    assert _counts_of_everything(engine) == before
    assert not (tmp_path / "archive").exists(), "a dry run must not fetch or archive pages"
    assert sum(bbref_site.requests.values()) == 0
    err = capsys.readouterr().err
    assert "Backfill plan" in err and "nothing is written" in err


def test_bad_input_writes_nothing(db_url, engine):
    before = _counts_of_everything(engine)
    for kwargs in (
        {"date": "2018-02-30"},
        {"date": "2018-01-01", "sources": "boxscores,injuries"},
        {"start": "2018-01-01", "end": "2018-06-01"},
        {"resume": "999"},
    ):
        with pytest.raises(BadInput):
            backfill_task(**kwargs)
    assert _counts_of_everything(engine) == before


def test_run_loads_the_day_and_records_the_ledger(bbref_site, engine):
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    assert result.exit_code == 0, result.message
    run_id = result.summary["run_id"]
    assert result.summary["counts"] == {
        "succeeded": 2,
        "failed": 0,
        "not_available": 0,
        "skipped": 0,
    }
    assert (
        _count(engine, "select count(*) from nba_source.schedule where game_date = '2018-01-01'")
        == 4
    )
    assert _count(engine, "select count(*) from nba_source.boxscores") == 82
    assert (
        _count(engine, "select pts from nba_source.boxscores where player_id = 'derozde01'") == 52
    )
    run = _run(engine, run_id)
    assert run["status"] == "succeeded" and run["finished_at"] and run["user_name"]
    assert run["args"]["sources"] == ["schedule", "boxscores"]
    units = _ledger(engine, run_id)
    assert units[("boxscores", "2018-01-01")]["rows_written"] == 82
    assert all(u["status"] == "succeeded" and u["finished_at"] for u in units.values())

    # Again: complete and final, so skipped; --force runs it again with identical tables.
    snapshot = _table_rows(engine)
    again = backfill_task(date="2018-01-01", sources="schedule,boxscores")
    assert again.exit_code == 0 and again.summary["counts"]["skipped"] == 2
    for unit in again.summary["units"]:  # each says why, and how to run it anyway
        assert unit["reason"].startswith("already complete and final"), unit
        assert "--force" in unit["reason"]
    skipped = _ledger(engine, again.summary["run_id"])
    assert all("--force" in (u["error"] or "") for u in skipped.values())
    forced = backfill_task(date="2018-01-01", sources="schedule,boxscores", force=True)
    assert forced.exit_code == 0 and forced.summary["counts"]["succeeded"] == 2
    assert _table_rows(engine) == snapshot


def test_pbp_by_date_is_discovered_after_the_schedule_and_failures_exit_1(
    bbref_site, engine, monkeypatch
):
    slack = HTTPServer(host="127.0.0.1")
    slack.start()
    try:
        hook = slack.url_for("/services/T1/B1/verysecrethook")
        slack.expect_request("/services/T1/B1/verysecrethook", method="POST").respond_with_data(
            "ok"
        )
        monkeypatch.setenv("NBA_ELT_SLACK_WEBHOOK_URL", hook)
        # The Jan 1 2018 pbp pages are not recorded: the local site answers 404.
        result = backfill_task(date="2018-01-01", sources="schedule,pbp")
        payloads = [json.loads(req.data) for req, _ in slack.log]
    finally:
        slack.clear()
        slack.stop()
    assert result.exit_code == 1
    counts = result.summary["counts"]
    assert counts["succeeded"] == 1 and counts["failed"] == 4
    failed = sorted(u["unit_key"] for u in result.summary["units"] if u["status"] == "failed")
    assert failed == ["201801010BRK", "201801010CHI", "201801010MIN", "201801010TOR"]
    assert all("404" in u["error"] for u in result.summary["units"] if u["status"] == "failed")
    run_id = result.summary["run_id"]
    assert _run(engine, run_id)["status"] == "failed"
    assert f"invoke backfill --resume {run_id}" in result.message
    # One alert, naming the failed units and the resume command, without the URL.
    assert len(payloads) == 1
    text_ = payloads[0]["text"]
    assert "201801010TOR" in text_ and f"invoke backfill --resume {run_id}" in text_
    assert result.summary["alert"]["sent"] is True
    assert "verysecrethook" not in json.dumps(result.summary) + result.message


def test_not_available_exits_75(bbref_site, engine):
    backfill_task(date="2018-01-01", sources="schedule")
    bbref_site.override(DAILY_JAN1, "<html><body><p>No games yet</p></body></html>")
    bbref_site.override(DAILY_JAN1 + "&type=all", "<html><body>nothing</body></html>")
    result = backfill_task(date="2018-01-01", sources="boxscores")
    assert result.exit_code == 75, result.message
    assert result.summary["counts"]["not_available"] == 1
    assert _run(engine, result.summary["run_id"])["status"] == "not_available"
    assert _count(engine, "select count(*) from nba_source.boxscores") == 0


def test_403_stops_the_run_and_resume_finishes_it(bbref_site, engine):
    # --provider bbref: no fallback to the NBA (that is tests/integration/test_nba_provider.py)
    bbref_site.override("/boxscores/pbp/201810160GSW.html", 403)
    result = backfill_task(games=PBP_GAMES, sources="pbp", provider="bbref")
    assert result.exit_code == 1
    by_key = {u["unit_key"]: u for u in result.summary["units"]}
    assert by_key["201810160GSW"]["status"] == "failed"
    assert "403" in by_key["201810160GSW"]["error"]
    for later in ("201810270MIL", "201901010DEN"):
        assert by_key[later]["status"] == "skipped"
        assert by_key[later]["error"].startswith("not run: the site answered 403")
    assert bbref_site.hits("/boxscores/pbp/201810270MIL.html") == 0
    assert _count(engine, "select count(*) from nba_source.pbp") == 0

    bbref_site.override("/boxscores/pbp/201810160GSW.html", 200)
    run_id = result.summary["run_id"]
    resumed = backfill_task(resume=str(run_id))
    assert resumed.exit_code == 0, resumed.message
    assert resumed.summary["resumed_from"] == run_id
    assert resumed.summary["counts"]["succeeded"] == 3
    assert _run(engine, resumed.summary["run_id"])["resumed_from"] == run_id
    assert _count(engine, "select count(distinct game_id) from nba_source.pbp") == 3

    nothing = backfill_task(resume=str(resumed.summary["run_id"]))
    assert nothing.exit_code == 0 and "nothing to resume" in nothing.message


def _table_rows(engine) -> dict[str, list]:
    out = {}
    with engine.connect() as conn:
        for table, key in (
            ("schedule", "game_id"),
            ("boxscores", "game_id, player_id"),
            ("pbp", "game_id, event_idx"),
        ):
            columns = [
                c
                for c in conn.execute(
                    text(
                        "select column_name from information_schema.columns "
                        "where table_schema = 'nba_source' and table_name = :t "
                        "and column_name <> '_loaded_at' order by ordinal_position"
                    ),
                    {"t": table},
                ).scalars()
            ]
            out[table] = [
                tuple(r)
                for r in conn.execute(
                    text(f"select {', '.join(columns)} from nba_source.{table} order by {key}")
                )
            ]
    return out


def test_json_summary_has_the_run(bbref_site, engine):
    result = backfill_task(games="201901010DEN", sources="pbp")
    assert result.exit_code == 0
    s = result.summary
    assert {"run_id", "counts", "units", "exit_code"} <= set(s)
    (unit,) = s["units"]
    assert unit["source"] == "pbp" and unit["unit_key"] == "201901010DEN"
    assert unit["rows_written"] > 400 and unit["seconds"] >= 0
    assert json.loads(json.dumps(s, default=str))["exit_code"] == 0


def test_dry_run_on_an_empty_database_creates_nothing(bbref_site, pg_cluster, monkeypatch):
    from sqlalchemy import create_engine

    from nba_elt.warehouse.db import _engine_for

    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("drop database if exists bf_dry_empty")
        conn.exec_driver_sql("create database bf_dry_empty")
    url = pg_cluster.url("bf_dry_empty")
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", url)
    try:
        result = backfill_task(start="2018-01-01", end="2018-01-02", dry_run=True)
        assert result.exit_code == 0
        plan = result.summary["plan"]
        assert plan["sources"] == ["schedule", "boxscores", "pbp"]
        # schedule and box scores of each day, and each day's pbp listing unit
        assert plan["unit_count"] == 6 and plan["to_run"] == 6
        listing = [u for u in plan["units"] if u["source"] == "pbp"]
        assert [u["unit_key"] for u in listing] == ["2018-01-01", "2018-01-02"]
        empty = create_engine(url)
        with empty.connect() as conn:
            tables = conn.execute(
                text(
                    "select count(*) from information_schema.tables "
                    "where table_schema in ('ops', 'nba_source')"
                )
            ).scalar()
        empty.dispose()
        assert tables == 0
    finally:
        _engine_for.cache_clear()
        with admin.connect() as conn:
            conn.exec_driver_sql("drop database if exists bf_dry_empty with (force)")
        admin.dispose()


def test_a_unit_held_by_another_backfill_is_reported_clearly(bbref_site, engine, monkeypatch):
    from nba_elt.ingest.ledger import UNIT_LOCK_CLASS

    monkeypatch.setenv("NBA_ELT_BACKFILL_LOCK_WAIT", "0.5")
    holder = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holder.execute(
            text("select pg_advisory_lock(:c, hashtext('pbp:201901010DEN'))"),
            {"c": UNIT_LOCK_CLASS},
        )
        result = backfill_task(games="201901010DEN,201810270MIL", sources="pbp")
    finally:
        holder.close()
    assert result.exit_code == 1
    by_key = {u["unit_key"]: u for u in result.summary["units"]}
    assert by_key["201810270MIL"]["status"] == "succeeded"
    assert by_key["201901010DEN"]["status"] == "failed"
    assert "is being written by another backfill" in by_key["201901010DEN"]["error"]
    assert _count(engine, "select count(*) from nba_source.pbp where game_id = '201901010DEN'") == 0


def test_gaps_in_pbp_found_and_fixed(bbref_site, engine):
    from nba_elt.cli.commands import gaps_task

    with engine.begin() as conn:
        conn.execute(
            text("update nba_source.feature_flags set is_enabled = false where flag = 'boxscores'")
        )
        # The three recorded pbp games, as a loaded schedule would hold them.
        conn.execute(
            text(
                "insert into nba_source.schedule (game_id, game_date, season, away_team, "
                "home_team, away_pts, home_pts, status) values "
                "('201810160GSW', '2018-10-16', 2019, 'OKC', 'GSW', 100, 108, 'final'), "
                "('201810270MIL', '2018-10-27', 2019, 'ORL', 'MIL', 91, 113, 'final'), "
                "('201901010DEN', '2019-01-01', 2019, 'NYK', 'DEN', 108, 115, 'final')"
            )
        )
    loaded = backfill_task(games=PBP_GAMES, sources="pbp")
    assert loaded.exit_code == 0, loaded.message
    before = _table_rows(engine)
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.pbp where game_id = '201810270MIL'"))

    found = gaps_task(season="2019")
    assert found.exit_code == 1
    assert found.summary["missing_pbp"] == ["201810270MIL"]
    assert found.summary["days_missing_entirely"] == ["2018-10-27"]
    assert "invoke gaps --season 2019 --fix" in found.message

    fixed = gaps_task(season="2019", fix=True)
    assert fixed.exit_code == 0, fixed.message
    assert [u["unit_key"] for u in fixed.summary["fix"]["units"]] == ["201810270MIL"]
    assert fixed.summary["remaining_units"] == 0
    assert _table_rows(engine) == before


def test_pbp_by_date_lists_the_games_in_the_run_and_resume_retries_the_listing(bbref_site, engine):
    scoreboard = "/boxscores/?month=1&day=1&year=2018"
    month = "/leagues/NBA_2018_games-january.html"
    bbref_site.override(scoreboard, 500)
    bbref_site.override(month, 500)
    result = backfill_task(date="2018-01-01", sources="pbp")
    assert result.exit_code == 1
    (listing,) = result.summary["units"]
    assert (listing["source"], listing["unit_key"], listing["status"]) == (
        "pbp",
        "2018-01-01",
        "failed",
    )
    assert "500" in listing["error"]

    bbref_site.override(scoreboard, 200)
    bbref_site.override(month, 200)
    resumed = backfill_task(resume=str(result.summary["run_id"]))
    keys = [(u["unit_key"], u["status"]) for u in resumed.summary["units"]]
    assert keys[0] == ("2018-01-01", "succeeded")
    # The day's four games became units of the run (their pages are not recorded: 404).
    assert sorted(k for k, _ in keys[1:]) == [
        "201801010BRK",
        "201801010CHI",
        "201801010MIN",
        "201801010TOR",
    ]
    ledger = _ledger(engine, resumed.summary["run_id"])
    assert len(ledger) == 5 and ledger[("pbp", "2018-01-01")]["status"] == "succeeded"


@pytest.mark.slow
def test_refresh_and_predict_after_a_successful_backfill(bbref_site, engine):
    """A real dbt build (everything, since the warehouse was never refreshed) + predictions."""
    result = backfill_task(date="2018-01-01", sources="schedule,boxscores", predict=True)
    assert result.exit_code == 0, result.message
    assert result.summary["refresh"]["exit_code"] == 0
    assert [p["date"] for p in result.summary["predict"]] == ["2018-01-01"]
    with engine.connect() as conn:
        predicted = conn.execute(
            text(
                "select count(*) from ml_models.ml_game_predictions where game_date = '2018-01-01'"
            )
        ).scalar()
        facts = conn.execute(text("select count(*) from facts.fact_boxscores")).scalar()
    assert predicted == 4 and facts == 82

    # A run with a failed unit does not refresh.
    failed = backfill_task(date="2018-01-01", sources="pbp", refresh=True)
    assert failed.exit_code == 1 and "refresh" not in failed.summary
    assert "refresh not run" in failed.message


def test_the_ledger_commits_with_the_units_data(bbref_site, engine, monkeypatch):
    """A process that dies right after a unit's commit leaves a ledger that says succeeded."""
    after_commit = []
    monkeypatch.setattr(  # the outcome write after the unit: as if the process died there
        "nba_elt.ingest.runner.ledger.finish_unit",
        lambda engine, run_id, source, key, status, *a, **k: after_commit.append((source, status)),
    )
    result = backfill_task(date="2018-01-01", sources="boxscores")
    # the unit's transaction recorded its outcome: no write after the commit is needed
    assert after_commit == []
    unit = _ledger(engine, result.summary["run_id"])[("boxscores", "2018-01-01")]
    assert (unit["status"], unit["rows_written"]) == ("succeeded", 82)
    assert _count(engine, "select count(*) from nba_source.boxscores") == 82


def test_a_failing_ledger_write_rolls_the_unit_back(bbref_site, engine, monkeypatch):
    """Data and ledger are one transaction: if recording fails, no rows stay behind."""

    def broken(conn, run_id, source, unit_key, rows_written):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr("nba_elt.ingest.runner.ledger.record_unit_written", broken)
    result = backfill_task(date="2018-01-01", sources="boxscores")
    assert result.exit_code == 1
    assert _count(engine, "select count(*) from nba_source.boxscores") == 0
    unit = _ledger(engine, result.summary["run_id"])[("boxscores", "2018-01-01")]
    assert unit["status"] == "failed" and "ledger unavailable" in unit["error"]


def test_a_day_that_lost_rows_is_repaired_without_force(bbref_site, engine):
    """One player's row deleted: the unit is no longer complete, a plain backfill restores it."""
    assert backfill_task(date="2018-01-01", sources="schedule,boxscores").exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.boxscores where player_id = 'derozde01'"))
    again = backfill_task(date="2018-01-01", sources="boxscores")
    assert again.exit_code == 0
    unit = _ledger(engine, again.summary["run_id"])[("boxscores", "2018-01-01")]
    # the rows written: the lost one (the 81 others are there already, unchanged)
    assert (unit["status"], unit["rows_written"]) == ("succeeded", 1)
    assert (
        _count(engine, "select pts from nba_source.boxscores where player_id = 'derozde01'") == 52
    )
    untouched = backfill_task(date="2018-01-01", sources="boxscores")
    assert untouched.summary["counts"]["skipped"] == 1  # complete and consistent again


def test_a_game_whose_pbp_lost_its_last_events_is_repaired_without_force(bbref_site, engine):
    assert backfill_task(games="201901010DEN", sources="pbp").exit_code == 0
    with engine.begin() as conn:
        conn.execute(  # the final score of a game that the schedule knows
            text(
                "insert into nba_source.schedule (game_id, game_date, season, away_team, "
                "home_team, away_pts, home_pts, status) values ('201901010DEN', '2019-01-01', "
                "2019, 'NYK', 'DEN', 108, 115, 'final')"
            )
        )
        conn.execute(text("delete from nba_source.pbp where event_idx > 400"))
    again = backfill_task(games="201901010DEN", sources="pbp")
    assert again.summary["counts"]["succeeded"] == 1, again.summary
    assert _count(engine, "select count(*) from nba_source.pbp") == 472


def test_a_day_with_no_games_anywhere_is_said_not_hidden(bbref_site, engine):
    """No schedule row; the scoreboard page (hand-made, whole) lists no game: the summary
    says no pbp games. When no page can be read at all, "no games" is not assumed."""
    unproven = backfill_task(date="2018-02-15", sources="pbp")
    assert unproven.exit_code == 1
    assert "could be read" in unproven.summary["units"][0]["error"]
    bbref_site.add_page(
        "/boxscores/?month=2&day=15&year=2018",
        "<html><body><h1>NBA Games Played on February 15, 2018</h1>"
        "<p>No games played on this date.</p></body></html>",
    )
    result = backfill_task(date="2018-02-15", sources="pbp")
    assert result.exit_code == 0, result.message
    assert result.summary["days_without_games"] == ["2018-02-15"]
    assert "no pbp games found on 2018-02-15" in result.message


def test_resume_of_an_offline_run_stays_offline_and_the_hint_names_its_flags(bbref_site, engine):
    """The issue's case: `--resume N` of an --offline run went to the network."""
    import os

    from nba_elt.pipelines.demo import seed_archive

    seed_archive(os.environ["NBA_ELT_ARCHIVE_DIR"])  # the recorded pages, no pbp of 2018-01-01
    first = backfill_task(date="2018-01-01", sources="schedule,pbp", offline=True)
    assert first.exit_code == 1  # the pbp pages of that night are not in the archive
    run_id = first.summary["run_id"]
    assert f"Resume with: invoke backfill --resume {run_id} --offline" in first.message
    requests_before = len(bbref_site.server.log)

    resumed = backfill_task(resume=str(run_id))  # no --offline given

    assert len(bbref_site.server.log) == requests_before == 0  # not one request to the site
    assert resumed.summary["resumed_from"] == run_id
    failed = {u["unit_key"] for u in resumed.summary["units"] if u["status"] == "failed"}
    assert len(failed) == 4  # still the 4 games, still from the archive only
    assert all("archive" in u["error"] for u in resumed.summary["units"] if u["error"])
    assert _run(engine, resumed.summary["run_id"])["args"]["offline"] is True


def test_dry_run_lists_the_listing_unit_and_the_games_it_finds_with_archive_hits(
    bbref_site, engine
):
    import os

    from nba_elt.pipelines.demo import seed_archive

    seed_archive(os.environ["NBA_ELT_ARCHIVE_DIR"])
    dry = backfill_task(date="2018-01-01", sources="schedule,pbp", dry_run=True)

    plan = dry.summary["plan"]
    rows = {(u["source"], u["unit_key"]): u for u in plan["units"]}
    listing = rows[("pbp", "2018-01-01")]
    assert listing["action"] == "list the day's games (from its schedule unit)"
    games = [k for s, k in rows if s == "pbp" and k != "2018-01-01"]
    # the 4 games of the recorded scoreboard page, each with its page, none archived
    assert sorted(games) == ["201801010BRK", "201801010CHI", "201801010MIN", "201801010TOR"]
    assert all(rows[("pbp", g)]["archived"] == [] for g in games)
    schedule = rows[("schedule", "2018-01-01")]
    assert schedule["archived"] == schedule["pages"] and len(schedule["pages"]) == 1
    assert plan["unit_count"] == 6 and plan["page_count"] == 5
    assert plan["pages_in_archive"] == 1 and plan["archived_pages"] == schedule["pages"]
    assert len(bbref_site.server.log) == 0  # a dry run reads only the archive


def _pbp_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "select game_id, event_idx, period, clock_secs, team, description, away_score, "
                "home_score, points from nba_source.pbp order by game_id, event_idx"
            )
        ).all()


def test_parsing_in_worker_processes_writes_what_the_runner_alone_writes(
    bbref_site, engine, monkeypatch
):
    """An offline re-ingest parsed by workers: same rows, each unit in the ledger, in order."""
    games = "201810160GSW,201810270MIL,201901010DEN"
    assert backfill_task(games=games, sources="pbp").exit_code == 0  # fills the archive
    inline = _pbp_rows(engine)
    assert len(inline) > 1400
    monkeypatch.setattr("nba_elt.ingest.parallel.MIN_UNITS", 2)
    from nba_elt.ingest.parallel import ParsedAhead

    handed_over = []

    class Spy(ParsedAhead):
        def __call__(self, unit):
            parsed = super().__call__(unit)
            handed_over.append((unit.unit_key, parsed is not None))
            return parsed

    monkeypatch.setattr("nba_elt.ingest.runner.ParsedAhead", Spy)
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.pbp"))
    result = backfill_task(games=games, sources="pbp", offline=True, force=True)
    assert result.exit_code == 0
    assert handed_over == [(g, True) for g in games.split(",")]  # parsed by the workers
    assert _pbp_rows(engine) == inline
    units = _ledger(engine, result.summary["run_id"])
    assert [units[("pbp", g)]["status"] for g in games.split(",")] == ["succeeded"] * 3
    assert sum(units[("pbp", g)]["rows_written"] for g in games.split(",")) == len(inline)


def test_a_page_a_worker_cannot_parse_fails_only_its_unit(bbref_site, engine, monkeypatch):
    from nba_elt.config import get_settings
    from nba_elt.extract.archive import open_archive

    games = "201810160GSW,201810270MIL,201901010DEN"
    assert backfill_task(games=games, sources="pbp").exit_code == 0
    archive = open_archive(get_settings().archive_dir, get_settings())
    path = "/boxscores/pbp/201810270MIL.html"
    archive.put(path, archive.get(path).body.replace("<td>11:", "<td>soon", 1), 200)
    monkeypatch.setattr("nba_elt.ingest.parallel.MIN_UNITS", 2)
    result = backfill_task(games=games, sources="pbp", offline=True, force=True)
    assert result.exit_code == 1
    units = _ledger(engine, result.summary["run_id"])
    assert units[("pbp", "201810270MIL")]["status"] == "failed"
    assert "no clock" in units[("pbp", "201810270MIL")]["error"]
    assert units[("pbp", "201901010DEN")]["status"] == "succeeded"
