"""Fetch -> raw archive -> parse -> load into a real Postgres, against the recorded site."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from nba_elt.config import DEFAULT_USER_AGENT as USER_AGENT
from nba_elt.config import get_settings
from nba_elt.errors import (
    ConsistencyError,
    DataNotAvailable,
    PageNotFound,
    SchemaDrift,
    SiteBlocked,
    SourceError,
)
from nba_elt.extract.http import HttpClient
from nba_elt.sources import (
    SourceContext,
    is_complete,
    planned_urls,
    run_unit,
    units_for_dates,
    units_for_games,
)

NEW_YEAR = dt.date(2018, 1, 1)
DAILY = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
JANUARY = "/leagues/NBA_2018_games-january.html"
PBP_DEN = "/boxscores/pbp/201901010DEN.html"
TABLES = ("schedule", "boxscores", "pbp")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "bbref"


def make_ctx(engine, offline: bool = False) -> SourceContext:
    return SourceContext(engine, HttpClient(get_settings(), offline=offline))


def run(ctx: SourceContext, source: str, *, dates=(), games=()) -> int:
    units = units_for_dates(source, dates, ctx) if dates else units_for_games(source, games, ctx)
    return sum(run_unit(unit, ctx) for unit in units)


def load_new_year(ctx: SourceContext) -> dict[str, int]:
    return {
        "schedule": run(ctx, "schedule", dates=[NEW_YEAR]),
        "boxscores": run(ctx, "boxscores", dates=[NEW_YEAR]),
        "pbp": run(ctx, "pbp", games=["201901010DEN"]),
    }


def snapshot(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {
            t: pd.read_sql(text(f"select * from nba_source.{t} order by 1, 2"), conn).drop(
                columns="_loaded_at"
            )
            for t in TABLES
        }


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"select count(*) from nba_source.{t}")).scalar_one()
            for t in TABLES
        }


def test_fetch_archive_parse_load(bbref_site, engine, tmp_path):
    ctx = make_ctx(engine)
    assert load_new_year(ctx) == {"schedule": 4, "boxscores": 82, "pbp": 472}
    with engine.connect() as conn:
        derozan = conn.execute(
            text(
                "select team, opponent, is_home, pts, seconds_played from nba_source.boxscores "
                "where player_id = 'derozde01' and game_id = '201801010TOR'"
            )
        ).one()
        assert tuple(derozan) == ("TOR", "MIL", True, 52, 2607)
        sums = dict(
            conn.execute(
                text("select team, sum(pts) from nba_source.boxscores group by team")
            ).fetchall()
        )
        assert sums == {
            "TOR": 131, "MIL": 127, "POR": 124, "CHI": 120,
            "MIN": 114, "LAL": 96, "BKN": 98, "ORL": 95,
        }  # fmt: skip
        games = conn.execute(
            text(
                "select game_id, away_team, home_team, away_pts, home_pts, overtimes, status, season "
                "from nba_source.schedule order by game_id"
            )
        ).fetchall()
        assert [tuple(g) for g in games][0] == (
            "201801010BRK", "ORL", "BKN", 95, 98, 0, "final", 2018,
        )  # fmt: skip
        last = conn.execute(
            text(
                "select away_score, home_score, period from nba_source.pbp "
                "where game_id = '201901010DEN' order by event_idx desc limit 1"
            )
        ).one()
        assert tuple(last) == (108, 115, 4)
    # every page went to the raw archive with its URL, status and time
    archive = Path(get_settings().archive_dir)
    meta = json.loads(
        (archive / "friv/dailyleaders.fcgi@month=1,day=1,year=2018.meta.json").read_text()
    )
    assert meta["url"] == bbref_site.url + DAILY and meta["status"] == 200 and meta["fetched_at"]
    assert (archive / "boxscores/pbp/201901010DEN.html").is_file()
    assert set(bbref_site.user_agents) == {USER_AGENT}


def test_second_and_third_runs_leave_identical_tables(bbref_site, engine):
    load_new_year(make_ctx(engine))
    first = snapshot(engine)
    for _ in range(2):
        load_new_year(make_ctx(engine))
        again = snapshot(engine)
        for table in TABLES:
            pd.testing.assert_frame_equal(first[table], again[table])
    assert counts(engine) == {"schedule": 4, "boxscores": 82, "pbp": 472}
    # pages of finished days are never fetched twice: later runs read the archive
    assert bbref_site.hits(DAILY) == 1
    assert bbref_site.hits(JANUARY) == 1
    assert bbref_site.hits(PBP_DEN) == 1


def test_units_are_complete_after_loading(bbref_site, engine):
    ctx = make_ctx(engine)
    units = units_for_dates("schedule", [NEW_YEAR], ctx) + units_for_dates(
        "boxscores", [NEW_YEAR], ctx
    )
    assert not any(is_complete(u, ctx) for u in units)
    load_new_year(ctx)
    assert all(is_complete(u, ctx) for u in units)
    assert planned_urls(units[1], ctx) == [bbref_site.url + DAILY]


def test_pbp_units_of_a_day_come_from_the_scoreboard_then_the_schedule(bbref_site, engine):
    ctx = make_ctx(engine)
    from_board = units_for_dates("pbp", [NEW_YEAR], ctx)
    assert [u.unit_key for u in from_board] == [
        "201801010BRK", "201801010CHI", "201801010MIN", "201801010TOR",
    ]  # fmt: skip
    assert bbref_site.hits("/boxscores/?month=1&day=1&year=2018") == 1
    run(ctx, "schedule", dates=[NEW_YEAR])
    from_schedule = units_for_dates("pbp", [NEW_YEAR], make_ctx(engine))
    assert [u.unit_key for u in from_schedule] == [u.unit_key for u in from_board]
    assert bbref_site.hits("/boxscores/?month=1&day=1&year=2018") == 1


def test_429_waits_retry_after_then_succeeds(bbref_site, engine):
    bbref_site.override(DAILY, (429, "slow down", {"Retry-After": "7"}), 200)
    assert run(make_ctx(engine), "boxscores", dates=[NEW_YEAR]) == 82
    assert bbref_site.hits(DAILY) == 2
    assert 7.0 in bbref_site.sleeps


def test_500_then_success(bbref_site, engine):
    bbref_site.override(PBP_DEN, 500, 502, 200)
    assert run(make_ctx(engine), "pbp", games=["201901010DEN"]) == 472
    assert bbref_site.hits(PBP_DEN) == 3


def test_5xx_every_time_is_a_source_error_after_bounded_retries(bbref_site, engine):
    bbref_site.override(PBP_DEN, 503)
    with pytest.raises(SourceError, match="after 4 attempts"):
        run(make_ctx(engine), "pbp", games=["201901010DEN"])
    assert bbref_site.hits(PBP_DEN) == 4
    assert counts(engine)["pbp"] == 0


def test_403_stops_the_run(bbref_site, engine):
    bbref_site.override(DAILY, 403)
    ctx = make_ctx(engine)
    with pytest.raises(SiteBlocked, match="blocking this client"):
        run(ctx, "boxscores", dates=[NEW_YEAR])
    with pytest.raises(SiteBlocked):  # the same client refuses further requests
        run(ctx, "pbp", games=["201901010DEN"])
    assert bbref_site.hits(PBP_DEN) == 0
    assert counts(engine) == {"schedule": 0, "boxscores": 0, "pbp": 0}


def test_404_is_page_not_found(bbref_site, engine):
    with pytest.raises(PageNotFound, match="201901020DEN"):
        run(make_ctx(engine), "pbp", games=["201901020DEN"])
    assert counts(engine)["pbp"] == 0


def test_malformed_page_writes_nothing_and_keeps_earlier_rows(
    bbref_site, engine, monkeypatch, tmp_path
):
    run(make_ctx(engine), "pbp", games=["201810160GSW"])
    before = snapshot(engine)["pbp"]
    bbref_site.override("/boxscores/pbp/201810160GSW.html", "<html><body>Oops</body></html>")
    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", str(tmp_path / "fresh-archive"))  # not the good copy
    ctx = make_ctx(engine)
    with pytest.raises(SchemaDrift, match="201810160GSW"):
        run(ctx, "pbp", games=["201810160GSW"])
    pd.testing.assert_frame_equal(snapshot(engine)["pbp"], before)


def test_team_sum_mismatch_is_a_consistency_error(bbref_site, engine):
    run(make_ctx(engine), "schedule", dates=[NEW_YEAR])
    html = (
        Path(__file__).parent.parent / "fixtures/bbref/dailyleaders/2018-01-01.html"
    ).read_text()
    bbref_site.override(DAILY, html.replace('data-stat="pts" >52<', 'data-stat="pts" >50<'))
    with pytest.raises(ConsistencyError, match=r"TOR.*129.*131"):
        run(make_ctx(engine), "boxscores", dates=[NEW_YEAR])
    assert counts(engine)["boxscores"] == 0


def test_pbp_final_score_mismatch_is_a_consistency_error(bbref_site, engine):
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into nba_source.schedule (game_id, game_date, season, away_team, "
                "home_team, away_pts, home_pts, status) values "
                "('201901010DEN', '2019-01-01', 2019, 'NYK', 'DEN', 108, 116, 'final')"
            )
        )
    with pytest.raises(ConsistencyError, match="108-115.*108-116"):
        run(make_ctx(engine), "pbp", games=["201901010DEN"])
    assert counts(engine)["pbp"] == 0


def test_daily_page_without_table_is_not_available(bbref_site, engine):
    run(make_ctx(engine), "schedule", dates=[NEW_YEAR])
    bbref_site.override(DAILY, "<html><body><h1>Daily leaders</h1><p>No data.</p></body></html>")
    with pytest.raises(DataNotAvailable, match="4 game"):
        run(make_ctx(engine), "boxscores", dates=[NEW_YEAR])
    assert counts(engine)["boxscores"] == 0


def test_offline_reads_only_the_archive(bbref_site, engine):
    load_new_year(make_ctx(engine))
    first = snapshot(engine)
    hits = sum(bbref_site.requests.values())
    load_new_year(make_ctx(engine, offline=True))
    for table in TABLES:
        pd.testing.assert_frame_equal(snapshot(engine)[table], first[table])
    assert sum(bbref_site.requests.values()) == hits
    with pytest.raises(
        SourceError, match=r"offline: .*201810270MIL\.html is not in the raw archive"
    ):
        run(make_ctx(engine, offline=True), "pbp", games=["201810270MIL"])
    assert bbref_site.hits("/boxscores/pbp/201810270MIL.html") == 0


def test_pbp_units_fall_back_to_the_schedule_page_without_a_scoreboard(bbref_site, engine):
    bbref_site.override("/boxscores/?month=1&day=1&year=2018", 404)
    units = units_for_dates("pbp", [NEW_YEAR], make_ctx(engine))
    assert len(units) == 4 and {u.game_date for u in units} == {NEW_YEAR}
    assert bbref_site.hits(JANUARY) == 1


def test_a_day_without_games_writes_nothing_and_succeeds(bbref_site, engine):
    # the January page without its games of the 15th: a day off, on the right month page
    html = (FIXTURES / "schedule/NBA_2018_games-january.html").read_text()
    rows = html.split('<tr ><th scope="row"')
    kept = [r for r in rows[1:] if "month=1&amp;day=15&amp;year=2018" not in r]
    bbref_site.override(JANUARY, '<tr ><th scope="row"'.join([rows[0], *kept]))
    ctx = make_ctx(engine)
    assert run(ctx, "schedule", dates=[dt.date(2018, 1, 15)]) == 0
    assert run(ctx, "schedule", dates=[NEW_YEAR]) == 4
    assert bbref_site.hits(JANUARY) == 1


@pytest.mark.parametrize("plain_status", [404, 500])
def test_daily_page_known_only_with_type_all(bbref_site, engine, plain_status):
    bbref_site.add_page(DAILY + "&type=all", FIXTURES / "dailyleaders/2018-01-01.html")
    bbref_site.override(DAILY, plain_status)
    assert run(make_ctx(engine), "boxscores", dates=[NEW_YEAR]) == 82
    assert bbref_site.hits(DAILY + "&type=all") == 1


BUBBLE_FINALS = """<html><head><link rel="canonical" href="https://x/leagues/NBA_2020_games.html" />
</head><body><table id="schedule"><thead><tr>
<th data-stat="date_game">Date</th><th data-stat="visitor_team_name">Visitor</th>
<th data-stat="visitor_pts">PTS</th><th data-stat="home_team_name">Home</th>
<th data-stat="home_pts">PTS</th><th data-stat="overtimes"></th></tr></thead><tbody>
<tr class="thead"><th colspan="6">Playoffs</th></tr>
<tr><th data-stat="date_game" csk="202010110LAL">Sun, Oct 11, 2020</th>
<td data-stat="visitor_team_name">Miami Heat</td><td data-stat="visitor_pts">93</td>
<td data-stat="home_team_name">Los Angeles Lakers</td><td data-stat="home_pts">106</td>
<td data-stat="overtimes"></td></tr></tbody></table></body></html>"""


def test_schedule_of_a_season_that_ran_late_is_found_through_the_season_links(bbref_site, engine):
    """A hand-made page (not a recording) in the shape of the 2019-20 bubble months."""
    season_index = '<html><a href="/leagues/NBA_2020_games-october-2020.html">October</a></html>'
    bbref_site.add_page("/leagues/NBA_2020_games.html", season_index)
    bbref_site.add_page("/leagues/NBA_2020_games-october-2020.html", BUBBLE_FINALS)
    assert run(make_ctx(engine), "schedule", dates=[dt.date(2020, 10, 11)]) == 1
    with engine.connect() as conn:
        game = conn.execute(text("select * from nba_source.schedule")).mappings().one()
    assert (game["season"], game["game_type"], game["away_team"], game["home_pts"]) == (
        2020,
        "playoffs",
        "MIA",
        106,
    )
    assert bbref_site.hits("/leagues/NBA_2021_games-october.html") == 1  # derived first


def test_schedule_page_failing_every_time_is_a_source_error(bbref_site, engine):
    bbref_site.override(JANUARY, 500)
    with pytest.raises(SourceError, match="NBA_2018_games-january"):
        run(make_ctx(engine), "schedule", dates=[NEW_YEAR])
    assert counts(engine)["schedule"] == 0


def test_recent_games_not_published_or_still_playing_are_not_available(bbref_site, engine):
    from nba_elt.dates import today_eastern

    today = today_eastern()
    tonight = f"{today:%Y%m%d}0DEN"
    with pytest.raises(DataNotAvailable, match="not published yet"):
        run(make_ctx(engine), "pbp", games=[tonight])
    html = (FIXTURES / "pbp/201901010DEN.html").read_text()
    # a game in progress: the page has no "End of 4th quarter" row yet
    end_row = (
        "<tr>\n<td>0:00.0</td>\n<td colspan=\"5\" class='center'>End of 4th quarter</td>\n</tr>"
    )
    assert end_row in html
    in_progress = html.replace(end_row, "")
    bbref_site.add_page(f"/boxscores/pbp/{tonight}.html", in_progress)
    with pytest.raises(DataNotAvailable, match="still being played"):
        run(make_ctx(engine), "pbp", games=[tonight])
    with pytest.raises(DataNotAvailable, match="daily page is not published yet"):
        run(make_ctx(engine), "boxscores", dates=[today])
    assert counts(engine) == {"schedule": 0, "boxscores": 0, "pbp": 0}
