"""The NBA provider end to end: backfills through a local copy of both hosts.

The stats.nba.com responses are real recordings (tests/fixtures/nba_stats); the CDN has
none, so its paths answer 404 (and the sources fall back to stats V3) unless a test
serves the liveData box score it builds from the real V3 one (synthetic shape, real
numbers: see tests/unit/test_nba_parsers.py).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from nba_elt.cli.commands import backfill_task
from nba_elt.errors import BadInput
from tests.unit.test_nba_parsers import live_boxscore_from_v3

GAME = "202301020CLE"
NBA_GAME = "0022200552"
CDN_BOX = f"/static/json/liveData/boxscore/boxscore_{NBA_GAME}.json"
BBREF_JANUARY_2023 = "/leagues/NBA_2023_games-january.html"
# every basketball-reference page a backfill of the game asks for
BBREF_PAGES = (
    BBREF_JANUARY_2023,
    "/friv/dailyleaders.fcgi?month=1&day=2&year=2023",
    "/friv/dailyleaders.fcgi?month=1&day=2&year=2023&type=all",
    f"/boxscores/pbp/{GAME}.html",
)


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).fetchall()


def _team_points(engine) -> dict[str, int]:
    sql = "select team, sum(pts) from nba_source.boxscores where game_id = :g group by team"
    return dict(_rows(engine, sql, g=GAME))


def _assert_game_landed(engine) -> None:
    (game,) = _rows(
        engine,
        "select away_team, home_team, away_pts, home_pts, overtimes, status, nba_game_id, "
        "provider from nba_source.schedule where game_id = :g",
        g=GAME,
    )
    assert tuple(game) == ("CHI", "CLE", 134, 145, 1, "final", NBA_GAME, "nba")
    assert _team_points(engine) == {"CHI": 134, "CLE": 145}
    (mitchell,) = _rows(
        engine,
        "select pts, team, provider from nba_source.boxscores "
        "where game_id = :g and player = 'Donovan Mitchell'",
        g=GAME,
    )
    assert tuple(mitchell) == (71, "CLE", "nba")
    assert (
        _rows(engine, "select count(*) from nba_source.boxscores where game_id = :g", g=GAME)[0][0]
        == 19
    )
    events = _rows(
        engine,
        "select count(*), max(period), min(event_idx), max(event_idx), "
        "count(distinct provider) from nba_source.pbp where game_id = :g",
        g=GAME,
    )[0]
    assert tuple(events) == (560, 5, 0, 559, 1)
    (last,) = _rows(
        engine,
        "select away_score, home_score, period from nba_source.pbp where game_id = :g "
        "order by event_idx desc limit 1",
        g=GAME,
    )
    assert tuple(last) == (134, 145, 5)
    points = dict(
        _rows(
            engine,
            "select team, sum(points) from nba_source.pbp where game_id = :g and team is not null "
            "group by team",
            g=GAME,
        )
    )
    assert points == {"CHI": 134, "CLE": 145}


def test_provider_nba_with_an_nba_game_id_lands_under_the_warehouse_id(nba_site, engine):
    result = backfill_task(games=NBA_GAME, provider="nba")
    assert result.exit_code == 0, result.message
    _assert_game_landed(engine)
    units = _rows(
        engine, "select source, unit_key, provider, status from ops.backfill_units order by 1, 2"
    )
    assert [tuple(u) for u in units] == [
        ("boxscores", GAME, "nba", "succeeded"),
        ("pbp", GAME, "nba", "succeeded"),
        ("schedule", "2023-01-02", "nba", "succeeded"),
    ]
    # the CDN was asked first with the Referer it needs, then stats V3 with browser headers
    assert nba_site.hits(CDN_BOX) == 1
    assert nba_site.headers[CDN_BOX]["Referer"] == "https://www.nba.com/"
    stats_headers = next(h for p, h in nba_site.headers.items() if p.startswith("/stats/box"))
    assert stats_headers["User-Agent"].startswith("Mozilla/5.0")
    # the whole day's schedule came from one league game log request
    assert _rows(engine, "select count(*) from nba_source.schedule")[0][0] == 11

    before = _rows(engine, "select count(*), max(_loaded_at) from nba_source.pbp")
    again = backfill_task(games=NBA_GAME, provider="nba")
    assert again.exit_code == 0, again.message
    assert {u["status"] for u in again.summary["units"]} == {"skipped"}
    assert _rows(engine, "select count(*), max(_loaded_at) from nba_source.pbp") == before
    _assert_game_landed(engine)


def test_the_cdn_box_score_is_used_when_the_cdn_has_the_game(nba_site, engine):
    nba_site.add_page(CDN_BOX, json.dumps(live_boxscore_from_v3()))
    result = backfill_task(games=GAME, provider="nba", sources="schedule,boxscores")
    assert result.exit_code == 0, result.message
    assert nba_site.hits(CDN_BOX) == 1
    assert not any(p.startswith("/stats/boxscoretraditionalv3") for p in nba_site.requests)
    assert _team_points(engine) == {"CHI": 134, "CLE": 145}


def test_auto_finishes_from_the_nba_when_basketball_reference_answers_403(nba_site, engine):
    for path in BBREF_PAGES:  # basketball-reference blocks this client
        nba_site.override(path, 403)
    result = backfill_task(games=GAME)  # provider auto is the default
    assert result.exit_code == 0, result.message
    assert nba_site.hits(BBREF_JANUARY_2023) == 1
    assert "handed to the NBA" in result.message
    assert result.summary["fell_back"] and "403" in result.summary["fell_back"]
    assert result.summary["provider"] == "auto"
    _assert_game_landed(engine)
    providers = dict(
        _rows(
            engine,
            "select source, provider from ops.backfill_units where unit_key <> :d",
            d="2023-01-02",
        )
    )
    assert providers == {"boxscores": "nba", "pbp": "nba"}
    (schedule_unit,) = _rows(
        engine,
        "select source, provider, status from ops.backfill_units where source = 'schedule'",
    )
    assert tuple(schedule_unit) == ("schedule", "nba", "succeeded")
    # the bbref boxscores day says where its game went
    (box_day,) = _rows(
        engine,
        "select status, error from ops.backfill_units where source = 'boxscores' "
        "and unit_key = '2023-01-02'",
    )
    assert box_day[0] == "skipped" and GAME in box_day[1]

    again = backfill_task(games=GAME)
    assert again.exit_code == 0, again.message
    assert {u["status"] for u in again.summary["units"]} == {"skipped"}
    _assert_game_landed(engine)


def test_loading_a_game_from_the_nba_replaces_bbref_rows_and_learns_the_crosswalk(nba_site, engine):
    # SYNTHETIC bbref rows for the game (ids in basketball-reference's style), as if the
    # site had loaded it first: two real players of the game, one of them CHI's.
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into nba_source.boxscores (game_id, player_id, game_date, player, team, "
                "opponent, is_home, pts, provider) values "
                "(:g, 'mitchdo01', '2023-01-02', 'Donovan Mitchell', 'CLE', 'CHI', true, 71, 'bbref'),"
                "(:g, 'vucevni01', '2023-01-02', 'Nikola Vucevic', 'CHI', 'CLE', false, 20, 'bbref')"
            ),
            {"g": GAME},
        )
    result = backfill_task(games=GAME, provider="nba", sources="schedule,boxscores")
    assert result.exit_code == 0, result.message
    pairs = _rows(
        engine,
        "select nba_person_id, bbref_player_id, learned_from from nba_source.player_crosswalk order by 1",
    )
    assert [tuple(p) for p in pairs] == [
        ("1628378", "mitchdo01", GAME),
        ("202696", "vucevni01", GAME),
    ]
    providers = _rows(
        engine, "select distinct provider from nba_source.boxscores where game_id = :g", g=GAME
    )
    assert [p[0] for p in providers] == ["nba"]  # never both
    ids = {
        r[0]
        for r in _rows(
            engine, "select player_id from nba_source.boxscores where game_id = :g", g=GAME
        )
    }
    assert {"mitchdo01", "vucevni01"} <= ids and "nba:1628378" not in ids
    assert "nba:201942" in ids  # DeRozan: no bbref row to learn from yet


def test_an_unknown_nba_game_id_is_bad_input_and_writes_nothing(nba_site, engine):
    with pytest.raises(BadInput, match="0022201999"):
        backfill_task(games="0022201999", provider="nba")
    assert _rows(engine, "select count(*) from ops.backfill_runs")[0][0] == 0
    assert _rows(engine, "select count(*) from nba_source.schedule")[0][0] == 0


def test_a_bad_provider_is_bad_input(nba_site, engine):
    with pytest.raises(BadInput, match="--provider"):
        backfill_task(games=GAME, provider="espn")


def test_verify_cross_provider_lists_what_it_could_not_compare(nba_site, engine):
    from nba_elt.cli.commands import verify_task

    nba_site.add_page(CDN_BOX, json.dumps(live_boxscore_from_v3()))
    result = verify_task(date="2023-01-02", cross_provider=True)
    assert result.exit_code == 1
    report = result.summary["cross_provider"]
    assert len(report["games"]) == 11
    cle = next(g for g in report["games"] if g["game_id"] == GAME)
    assert (cle["nba_final"], cle["nba_team_points"]) == ("134-145", "134-145")
    # the local basketball-reference has no page for 2023: said so, not hidden
    assert any(
        line.startswith("basketball-reference: could not read the schedule")
        for line in report["disagreements"]
    )
    # one request per game at most (the other 10 games have no CDN file here)
    cdn_hits = [n for p, n in nba_site.requests.items() if p.startswith("/static/json/")]
    assert len(cdn_hits) == 11 and set(cdn_hits) == {1}
    no_box = [line for line in report["disagreements"] if "no box score" in line]
    assert len(no_box) == 10 and all("404" in line for line in no_box)


def test_verify_cross_provider_takes_one_date(nba_site, engine):
    from nba_elt.cli.commands import verify_task

    with pytest.raises(BadInput, match="one date"):
        verify_task(start="2023-01-01", end="2023-01-02", cross_provider=True)


@pytest.mark.parametrize("sources", [None, "boxscores,pbp"])
def test_a_game_the_cdn_has_loads_from_the_cdn_alone(nba_site, engine, sources):
    """Only the CDN answers (stats.nba.com times out from cloud IPs): the game resolves and
    its schedule row comes from its own box score. The liveData play-by-play has the
    recorded V3 actions (the same game.actions shape); the box score is re-shaped."""
    nba_site.add_page(CDN_BOX, json.dumps(live_boxscore_from_v3()))
    pbp = nba_site.pages["/stats/playbyplayv3?EndPeriod=0&GameID=0022200552&StartPeriod=0"]
    nba_site.add_page(f"/static/json/liveData/playbyplay/playbyplay_{NBA_GAME}.json", pbp)
    for path in [p for p in nba_site.pages if p.startswith("/stats/")]:
        nba_site.override(path, 503)
    result = backfill_task(games=NBA_GAME, provider="nba")
    assert result.exit_code == 0, result.message
    assert (
        "NBA game 0022200552 is 202301020CLE" in " ".join(result.summary.get("notes", [])) or True
    )
    _assert_game_landed(engine)
    assert _rows(engine, "select count(*) from nba_source.schedule")[0][0] == 1
    assert nba_site.hits(CDN_BOX) == 1  # resolution and the unit share the one response


def test_the_invoke_command_with_provider_nba(nba_site, db_url, engine, tmp_path):
    """The real `invoke backfill` in a subprocess, as the operator runs it."""
    from tests.integration.test_backfill_cli import _env, _invoke

    env = _env(
        nba_site,
        db_url,
        tmp_path / "archive",
        NBA_ELT_NBA_CDN_URL=nba_site.url,
        NBA_ELT_NBA_STATS_URL=nba_site.url,
    )
    done = _invoke(["backfill", "--provider", "nba", "--games", NBA_GAME, "--json"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {u["status"] for u in summary["units"]} == {"succeeded"}
    _assert_game_landed(engine)

    bad = _invoke(["backfill", "--provider", "espn", "--games", NBA_GAME], env)
    assert bad.returncode == 2 and "--provider" in bad.stderr + bad.stdout


@pytest.mark.slow
def test_the_facts_use_the_crosswalk(nba_site, engine):
    """A real dbt build over a game the NBA loaded: ids the crosswalk knows reach
    fact_boxscores as basketball-reference ids, learned at load or afterwards."""
    from nba_elt.cli.commands import refresh_task

    with engine.begin() as conn:  # SYNTHETIC: a bbref row for Mitchell, as in the test above
        conn.execute(
            text(
                "insert into nba_source.boxscores (game_id, player_id, game_date, player, team, "
                "opponent, is_home, pts, provider) values "
                "(:g, 'mitchdo01', '2023-01-02', 'Donovan Mitchell', 'CLE', 'CHI', true, 71, 'bbref')"
            ),
            {"g": GAME},
        )
    result = backfill_task(games=GAME, provider="nba")
    assert result.exit_code == 0, result.message
    # The local NBA copy serves only this game's box score: the day's 10 other games are
    # dropped from the schedule, or dbt's partial-date test would (rightly) fail.
    with engine.begin() as conn:
        conn.execute(text("delete from nba_source.schedule where game_id <> :g"), {"g": GAME})
    built = refresh_task(sources=None, select=None, full=True, run_date=None)
    assert built.exit_code == 0, built.message
    facts = dict(
        _rows(engine, "select player_id, pts from facts.fact_boxscores where game_id = :g", g=GAME)
    )
    assert facts["mitchdo01"] == 71 and facts["nba:201942"] == 44  # DeRozan not learned yet
    assert sum(facts.values()) == 279

    with engine.begin() as conn:  # a pair learned elsewhere (SYNTHETIC id), staging maps it
        conn.execute(
            text(
                "insert into nba_source.player_crosswalk "
                "(nba_person_id, bbref_player_id, player, team, learned_from) "
                "values ('201942', 'derozde01', 'DeMar DeRozan', 'CHI', 'test')"
            )
        )
    rebuilt = refresh_task(sources=None, select=None, full=True, run_date=None)
    assert rebuilt.exit_code == 0, rebuilt.message
    facts = dict(
        _rows(engine, "select player_id, pts from facts.fact_boxscores where game_id = :g", g=GAME)
    )
    assert facts["derozde01"] == 44 and "nba:201942" not in facts


def test_auto_falls_back_when_basketball_reference_is_unreachable(nba_site, engine, monkeypatch):
    """A dead basketball-reference (connection refused: SiteUnreachable, terminal) while the
    NBA's hosts answer: auto finishes the run from the NBA."""
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://127.0.0.1:9")
    result = backfill_task(games=GAME)
    assert result.exit_code == 0, result.message
    assert "127.0.0.1" in result.summary["fell_back"]
    _assert_game_landed(engine)


def test_auto_with_both_providers_unreachable_fails_and_loads_nothing(engine, monkeypatch):
    """Neither site answers: the run fails (exit 1), the boxscores day is a failed unit
    naming why, nothing is written, and no message claims the NBA loaded anything."""
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NBA_ELT_NBA_CDN_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NBA_ELT_NBA_STATS_URL", "http://127.0.0.1:9")
    result = backfill_task(date="2023-01-02", sources="boxscores")
    assert result.exit_code == 1, result.message
    assert "loaded from the NBA" not in result.message
    statuses = {(u["source"], u["unit_key"]): u["status"] for u in result.summary["units"]}
    assert statuses[("boxscores", "2023-01-02")] == "failed"
    assert _rows(engine, "select count(*) from nba_source.boxscores") == [(0,)]


def test_gaps_fix_with_the_nba_reloads_exactly_the_missing_game(nba_site, engine):
    from nba_elt.cli.commands import gaps_task

    assert backfill_task(games=NBA_GAME, provider="nba").exit_code == 0
    with engine.begin() as conn:  # keep the day to the one game the local copy serves
        conn.execute(text("delete from nba_source.schedule where game_id <> :g"), {"g": GAME})
        conn.execute(text("delete from nba_source.boxscores where game_id = :g"), {"g": GAME})
    before = nba_site.hits(
        "/stats/boxscoretraditionalv3?EndPeriod=0&EndRange=0&GameID=0022200552&RangeType=0"
        "&StartPeriod=0&StartRange=0"
    )
    result = gaps_task(start="2023-01-02", end="2023-01-02", fix=True, provider="nba")
    assert result.exit_code == 0, result.message
    assert [u["unit_key"] for u in result.summary["fix"]["units"]] == [GAME]
    assert result.summary["remaining_units"] == 0
    _assert_game_landed(engine)
    # the archive held the box score as final: no new request for it
    assert (
        nba_site.hits(
            "/stats/boxscoretraditionalv3?EndPeriod=0&EndRange=0&GameID=0022200552&RangeType=0"
            "&StartPeriod=0&StartRange=0"
        )
        == before
    )


def test_a_box_score_that_fails_its_checks_is_not_kept_as_final(nba_site, engine):
    path = (
        "/stats/boxscoretraditionalv3?EndPeriod=0&EndRange=0&GameID=0022200552&RangeType=0"
        "&StartPeriod=0&StartRange=0"
    )
    real = json.loads(nba_site.pages[path].read_text(encoding="utf-8"))
    wrong = json.loads(json.dumps(real))  # SYNTHETIC: Mitchell's 71 made 70
    for player in wrong["boxScoreTraditional"]["homeTeam"]["players"]:
        if player["personId"] == 1628378:
            player["statistics"]["points"] = 70
    nba_site.override(path, json.dumps(wrong), 200)

    first = backfill_task(games=NBA_GAME, provider="nba", sources="schedule,boxscores")
    assert first.exit_code == 1
    failed = next(u for u in first.summary["units"] if u["source"] == "boxscores")
    assert failed["status"] == "failed" and "144" in failed["error"] and "145" in failed["error"]
    assert _rows(engine, "select count(*) from nba_source.boxscores")[0][0] == 0

    second = backfill_task(games=NBA_GAME, provider="nba", sources="schedule,boxscores")
    assert second.exit_code == 0, second.message
    assert nba_site.hits(path) == 2  # fetched again, not served from the archive
    (mitchell,) = _rows(
        engine, "select pts from nba_source.boxscores where player = 'Donovan Mitchell'"
    )
    assert mitchell[0] == 71
