"""The public API (`import nba_elt`) against the recorded site and a real Postgres.

Each test asserts facts of the real recorded pages (tests/fixtures/bbref, PROVENANCE.md):
the daily leaders page of 2018-01-01 has 82 player rows, DeMar DeRozan 52 points; the
January 2018 schedule page 216 games.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

import nba_elt
from nba_elt.config import get_settings
from nba_elt.errors import BadInput, DataNotAvailable


def test_get_boxscores_of_a_date(bbref_site):
    frame = nba_elt.get_boxscores("2018-01-01")
    assert len(frame) == 82
    derozan = frame[frame["player_id"] == "derozde01"].iloc[0]
    assert int(derozan["pts"]) == 52
    assert derozan["team"] == "TOR"
    # the same check a backfill makes: players' points add up to the final scores
    by_team = frame.groupby("team")["pts"].sum().to_dict()
    assert by_team["TOR"] == 131 and by_team["MIL"] == 127


def test_get_boxscores_offline_reads_the_archive_only(bbref_site):
    nba_elt.get_boxscores(dt.date(2018, 1, 1))  # fills the raw archive
    served = sum(bbref_site.requests.values())
    again = nba_elt.get_boxscores("2018-01-01", offline=True)
    assert len(again) == 82
    assert sum(bbref_site.requests.values()) == served


def test_get_schedule_of_a_month(bbref_site):
    frame = nba_elt.get_schedule(2018, "january")
    assert len(frame) == 216
    assert all((d.year, d.month) == (2018, 1) for d in frame["game_date"])
    assert (frame["status"] == "final").all()
    assert len(nba_elt.get_schedule(2018, 1)) == 216
    with pytest.raises(BadInput):
        nba_elt.get_schedule(2018, "janvier")


def test_get_pbp_of_a_game_and_of_a_date(bbref_site):
    events = nba_elt.get_pbp("201901010DEN")
    assert set(events["game_id"]) == {"201901010DEN"}
    last = events.iloc[-1]
    assert (int(last["away_score"]), int(last["home_score"])) == (108, 115)
    assert events["event_idx"].is_monotonic_increasing
    assert sorted(events["period"].unique()) == [1, 2, 3, 4]
    with pytest.raises(BadInput):
        nba_elt.get_pbp("not-a-game")
    with pytest.raises(BadInput):
        nba_elt.get_pbp()


def test_get_boxscores_says_when_the_date_is_not_published(bbref_site):
    # the daily leaders page as the site serves it before the box scores are up
    daily = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
    bbref_site.override(daily, "<html><body><p>No games yet</p></body></html>")
    with pytest.raises(DataNotAvailable):
        nba_elt.get_boxscores("2018-01-01")


def test_backfill_returns_per_unit_outcomes_and_prints_nothing(bbref_site, engine, capfd):
    report = nba_elt.backfill(date="2018-01-01", sources=["schedule", "boxscores"])
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert report.exit_code == 0
    assert [(u.source, u.unit_key, u.status) for u in report.units] == [
        ("schedule", "2018-01-01", "succeeded"),
        ("boxscores", "2018-01-01", "succeeded"),
    ]
    assert [u.rows for u in report.units] == [4, 82]
    assert all(u.error is None for u in report.units)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 82


def test_settings_are_passed_down_not_read_from_the_environment(
    bbref_site, engine, db_url, monkeypatch, capfd
):
    settings = get_settings()
    # the environment now points nowhere: only the settings object knows the warehouse
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://127.0.0.1:1")
    report = nba_elt.backfill(date="2018-01-01", sources="schedule", settings=settings)
    assert report.exit_code == 0 and report.units[0].rows == 4
    with pytest.raises(Exception, match="cannot connect"):
        nba_elt.backfill(date="2018-01-01", sources="schedule")


def _changed(engine) -> list[str] | None:
    from nba_elt.transform.ledger import changed_sources

    return changed_sources(engine)


def _pretend_a_refresh_succeeded(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into ops.refresh_runs (status, finished_at, run_date, target) "
                "values ('succeeded', now(), current_date, 'dev')"
            )
        )


def test_write_upsert_is_recorded_so_the_next_refresh_sees_it(bbref_site, engine):
    frame = nba_elt.get_boxscores("2018-01-01")
    _pretend_a_refresh_succeeded(engine)
    assert _changed(engine) == []
    written = nba_elt.write_upsert(frame, "boxscores")
    assert written == 82
    assert _changed(engine) == ["boxscores"]
    with engine.connect() as conn:
        unit = conn.execute(
            text("select source, unit_key, status, rows_written from ops.backfill_units")
        ).one()
        assert tuple(unit) == ("boxscores", "nba_source.boxscores", "succeeded", 82)
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 82
    # again: no duplicates, and no row written (every value is already there)
    assert nba_elt.write_upsert(frame, "nba_source.boxscores") == 0
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 82


def test_write_upsert_in_the_callers_transaction_is_all_or_nothing(bbref_site, engine):
    frame = nba_elt.get_boxscores("2018-01-01")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        nba_elt.write_upsert(frame, "boxscores", conn=conn)
        raise RuntimeError("the caller's next step failed")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from nba_source.boxscores")).scalar() == 0
        assert conn.execute(text("select count(*) from ops.backfill_units")).scalar() == 0


def test_write_upsert_to_another_table_needs_its_key(engine):
    with engine.begin() as conn:
        conn.execute(text("create schema scratch"))
        conn.execute(text("create table scratch.notes (game_id text, note text)"))
    notes = pd.DataFrame({"game_id": ["201801010TOR"], "note": ["DeRozan 52"]})
    with pytest.raises(BadInput, match="primary_keys"):
        nba_elt.write_upsert(notes, "scratch.notes")
    assert nba_elt.write_upsert(notes, "scratch.notes", primary_keys=["game_id"]) == 1
    notes["note"] = ["DeRozan 52, a career high"]
    assert nba_elt.write_upsert(notes, "scratch.notes", primary_keys=["game_id"]) == 1
    with engine.connect() as conn:
        rows = conn.execute(text("select game_id, note from scratch.notes")).all()
        assert rows == [("201801010TOR", "DeRozan 52, a career high")]
        sources = conn.execute(text("select distinct source from ops.backfill_units")).scalars()
        assert list(sources) == ["scratch.notes"]
    with pytest.raises(BadInput, match="primary key"):
        nba_elt.write_upsert(
            pd.DataFrame({"game_id": ["x"], "player_id": ["y"]}),
            "boxscores",
            primary_keys=["player_id"],
        )
    with pytest.raises(BadInput):
        nba_elt.write_upsert(notes, "scratch.notes; drop table x")


def test_verify_and_reboot_return_reports(engine, capfd):
    report = nba_elt.verify("2018-01-01")
    assert not report.passed and report.exit_code == 1
    assert "completeness" in [c.name for c in report.failed]
    dry = nba_elt.reboot_dashboard(dry_run=True, cluster="c1", service="s1")
    assert dry.exit_code == 0 and any("update_service" in call for call in dry.calls)
    assert capfd.readouterr() == ("", "")


def test_settings_object_is_the_one_from_config():
    assert nba_elt.Settings is dataclasses.replace(get_settings()).__class__
    with pytest.raises(AttributeError):
        nba_elt.no_such_function  # noqa: B018


def test_get_pbp_of_a_date_lists_its_games_from_the_scoreboard(bbref_site):
    from nba_elt.errors import PageNotFound

    # the recorded scoreboard of 2018-01-01 lists 4 games; their pbp pages are not
    # recorded, so the first one the API asks for is a 404, named in the error
    with pytest.raises(PageNotFound, match="201801010BRK"):
        nba_elt.get_pbp(date="2018-01-01")
    assert bbref_site.hits("/boxscores/?month=1&day=1&year=2018") == 1
    assert bbref_site.hits("/boxscores/pbp/201801010BRK.html") >= 1


def test_get_schedule_of_a_season_reads_every_month_page_it_links(bbref_site):
    # SYNTHETIC index page (the season page is not recorded): it links two real month pages
    bbref_site.override(
        "/leagues/NBA_2018_games.html",
        '<html><body><a href="/leagues/NBA_2018_games-january.html">January</a>'
        '<a href="/leagues/NBA_2018_games-april.html">April</a></body></html>',
    )
    april = nba_elt.get_schedule(2018, "april")
    season = nba_elt.get_schedule(2018)
    assert len(season) == 216 + len(april)
    assert season["game_id"].is_unique
    assert set(april["game_type"]) >= {"regular", "playoffs"}
