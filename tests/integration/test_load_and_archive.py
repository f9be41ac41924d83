"""The upsert into real Postgres, and the raw archive on a local folder and on S3 (moto server)."""

from __future__ import annotations

import datetime as dt

import boto3
import pandas as pd
import pytest
from sqlalchemy import text

from nba_elt.config import get_settings
from nba_elt.errors import LoadError, SourceError
from nba_elt.extract.archive import LocalArchive, S3Archive, key_for, open_archive
from nba_elt.extract.http import HttpClient
from nba_elt.warehouse.load import replace_game_events, upsert


def schedule_rows(home_pts: int | None = 98) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_id": ["201801010BRK", "201801010TOR"],
            "game_date": [dt.date(2018, 1, 1)] * 2,
            "season": [2018, 2018],
            "start_time": ["19:30", None],
            "away_team": ["ORL", "MIL"],
            "home_team": ["BKN", "TOR"],
            "away_pts": pd.array([95, None], dtype="Int64"),
            "home_pts": pd.array([home_pts, None], dtype="Int64"),
            "overtimes": [0, 0],
            "status": ["final", "scheduled"],
            "attendance": pd.array([16164, None], dtype="Int64"),
            "arena": ['Barclays "Center", Brooklyn', None],
            "game_type": ["regular", "regular"],
        }
    )


def pbp_rows(n: int, game_id: str = "201901010DEN") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "game_id": [game_id] * n,
            "event_idx": range(n),
            "game_date": [dt.date(2019, 1, 1)] * n,
            "period": [1] * n,
            "clock_secs": [720.0 - i for i in range(n)],
            "team": [None if i == 0 else "NYK" for i in range(n)],
            "description": ["Jump ball: a vs. b\nnew line"] + [f"event {i}" for i in range(1, n)],
            "away_score": [0] * n,
            "home_score": [0] * n,
            "points": [0] * n,
        }
    )


def table(engine, name: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(f"select * from nba_source.{name} order by 1, 2"), conn)


def test_upsert_inserts_then_updates_by_key(engine):
    with engine.begin() as conn:
        assert upsert(conn, "schedule", schedule_rows(home_pts=None)) == 2
    first = table(engine, "schedule")
    with engine.begin() as conn:  # the rows written: the second game's did not change
        assert upsert(conn, "schedule", schedule_rows(home_pts=98)) == 1
    second = table(engine, "schedule")
    assert len(second) == 2
    assert second.loc[0, "home_pts"] == 98 and pd.isna(first.loc[0, "home_pts"])
    assert second.loc[0, "arena"] == 'Barclays "Center", Brooklyn'
    assert pd.isna(second.loc[1, "start_time"])
    assert (second["_loaded_at"] >= first["_loaded_at"]).all()


def test_upsert_refuses_duplicate_or_empty_keys_and_writes_nothing(engine):
    rows = pd.concat([schedule_rows(), schedule_rows()])
    with pytest.raises(LoadError, match="repeat a key"), engine.begin() as conn:
        upsert(conn, "schedule", rows)
    bad = schedule_rows()
    bad.loc[0, "game_id"] = None
    with pytest.raises(LoadError, match="empty key"), engine.begin() as conn:
        upsert(conn, "schedule", bad)
    assert table(engine, "schedule").empty


def test_a_failing_unit_rolls_back_everything(engine):
    wrong = schedule_rows()
    wrong.loc[1, "status"] = "cancelled"  # violates the check constraint
    with pytest.raises(LoadError, match="schedule"), engine.begin() as conn:
        upsert(conn, "pbp", pbp_rows(5))
        upsert(conn, "schedule", wrong)
    assert table(engine, "pbp").empty and table(engine, "schedule").empty


def test_replace_game_events_drops_stale_events(engine):
    with engine.begin() as conn:
        assert replace_game_events(conn, "201901010DEN", pbp_rows(10)) == 10
        upsert(conn, "pbp", pbp_rows(3, game_id="201901010MIL"))
    with engine.begin() as conn:
        assert replace_game_events(conn, "201901010DEN", pbp_rows(7)) == 7
    events = table(engine, "pbp")
    assert (events["game_id"] == "201901010DEN").sum() == 7
    assert (events["game_id"] == "201901010MIL").sum() == 3
    assert events.loc[0, "description"] == "Jump ball: a vs. b\nnew line"


def test_archive_keys_are_stable_and_safe():
    assert key_for("/friv/dailyleaders.fcgi?month=1&day=1&year=2018") == (
        "friv/dailyleaders.fcgi@month=1,day=1,year=2018"
    )
    assert (
        key_for("/boxscores/?month=1&day=1&year=2018") == "boxscores/index@month=1,day=1,year=2018"
    )
    assert key_for("/boxscores/pbp/201901010DEN.html") == "boxscores/pbp/201901010DEN.html"


def test_local_archive_round_trip(tmp_path):
    archive = open_archive(str(tmp_path / "a"), get_settings())
    assert isinstance(archive, LocalArchive)
    assert not archive.has("/x.html") and archive.get("/x.html") is None
    archive.put("/x.html", "<html>é</html>", 200, url="http://h/x.html")
    page = archive.get("/x.html")
    assert (page.body, page.status, page.url) == ("<html>é</html>", 200, "http://h/x.html")


@pytest.fixture
def moto_s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "NBA_ELT_AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint).create_bucket(
        Bucket="raw-pages"
    )
    yield endpoint
    server.stop()


def test_s3_archive_and_offline_client(moto_s3, monkeypatch):
    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", "s3://raw-pages/bbref")
    settings = get_settings()
    archive = open_archive(settings.archive_dir, settings)
    assert isinstance(archive, S3Archive)
    path = "/friv/dailyleaders.fcgi?month=1&day=1&year=2018"
    assert not archive.has(path)
    archive.put(path, "<html>recorded</html>", 200, url="https://example/" + path)
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=moto_s3).list_objects_v2(Bucket="raw-pages")[
            "Contents"
        ]
    ]
    assert "bbref/friv/dailyleaders.fcgi@month=1,day=1,year=2018" in keys
    assert "bbref/friv/dailyleaders.fcgi@month=1,day=1,year=2018.meta.json" in keys
    client = HttpClient(settings, offline=True)
    assert client.in_archive(path)
    assert client.get(path) == "<html>recorded</html>"
    with pytest.raises(SourceError, match="not in the raw archive at s3://raw-pages/bbref"):
        client.get("/boxscores/pbp/201901010DEN.html")


def test_empty_text_and_null_stay_distinct(engine):
    rows = pbp_rows(2)
    rows.loc[1, "description"] = ""
    with engine.begin() as conn:
        upsert(conn, "pbp", rows)
    events = table(engine, "pbp")
    assert events.loc[1, "description"] == "" and events.loc[1, "team"] == "NYK"
    assert events.loc[0, "team"] is None


def test_concurrent_writers_of_the_same_key_both_succeed(engine):
    """B's insert meets A's uncommitted keys: B waits, then ON CONFLICT updates them."""
    import threading

    first, second = schedule_rows(home_pts=98), schedule_rows(home_pts=99)
    outcome: dict[str, object] = {}
    with engine.begin() as conn_a:
        upsert(conn_a, "schedule", first)

        def writer_b() -> None:
            try:
                with engine.begin() as conn_b:
                    outcome["rows"] = upsert(conn_b, "schedule", second)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = exc

        thread = threading.Thread(target=writer_b)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # B waits on A's uncommitted keys
    thread.join(timeout=30)
    assert outcome == {"rows": 1}  # the other game's row is the same as A's: not written
    assert table(engine, "schedule").loc[0, "home_pts"] == 99


def test_fetched_pages_go_to_the_s3_archive(moto_s3, bbref_site, monkeypatch):
    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", "s3://raw-pages/run1")
    path = "/boxscores/pbp/201810270MIL.html"
    online = HttpClient(get_settings())
    body = online.get(path, final=True)
    assert online.archive.get(path) is None  # not archived before its unit passed
    online.settle(True)
    page = online.archive.get(path)
    assert page.body == body and page.status == 200 and page.url == bbref_site.url + path
    assert HttpClient(get_settings()).get(path, final=True) == body
    assert bbref_site.hits(path) == 1  # the second client read S3, not the site


def test_s3_archive_holds_only_passed_pages_and_quarantines_the_rest(
    moto_s3, faulty_site, monkeypatch
):
    """Issue #11 item 2 on the S3 backend (moto; its buckets outlive one server, hence a
    prefix of its own): archive after a pass, quarantine after a
    failure, a damaged entry is missing online and named offline."""
    from nba_elt.errors import SourceError

    monkeypatch.setenv("NBA_ELT_ARCHIVE_DIR", "s3://raw-pages/trust")
    path = "/boxscores/pbp/201810270MIL.html"
    client = HttpClient(get_settings())
    client.get(path)
    where = client.settle(False, "pbp 201810270MIL: a test failure")
    assert where == "s3://raw-pages/trust.quarantine"
    assert client.archive.get(path) is None
    kept = client.archive.quarantine().get(path)
    assert kept is not None and "ORL" in kept.body
    client.refetch(path)
    client.settle(True)
    assert client.archive.get(path).status == 200 and faulty_site.hits(path) == 2
    s3 = client.archive._s3
    s3.put_object(
        Bucket="raw-pages", Key="trust/boxscores/pbp/201810270MIL.html.meta.json", Body=b"{"
    )
    online = HttpClient(get_settings())
    assert "ORL" in online.get(path, final=True) and faulty_site.hits(path) == 3
    with pytest.raises(SourceError, match=r"s3://raw-pages/trust/boxscores/pbp/201810270MIL.html"):
        HttpClient(get_settings(), offline=True).get(path)


def test_a_full_disk_is_a_clear_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    import errno
    import os

    from nba_elt.errors import ArchiveError
    from nba_elt.extract.archive import LocalArchive

    archive = LocalArchive(tmp_path / "archive")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("nba_elt.extract.archive.os.fsync", full)
    with pytest.raises(ArchiveError, match="No space left on device") as caught:
        archive.put("/boxscores/pbp/201810270MIL.html", "<html></html>", 200)
    assert caught.value.terminal
    assert [p.name for p in (tmp_path / "archive").rglob("*")] == ["boxscores", "pbp"]


def test_reupsert_replaces_only_the_frames_keys_and_stamps_them(engine):
    """Other keys keep their rows and their _loaded_at."""
    with engine.begin() as conn:
        upsert(conn, "pbp", pbp_rows(4))
        upsert(
            conn, "pbp", pbp_rows(3, game_id="201901010MIL").assign(game_date=dt.date(2019, 1, 1))
        )
    before = table(engine, "pbp").set_index(["game_id", "event_idx"])
    changed = pbp_rows(2).assign(description=["tip", "made shot"], points=[0, 2])
    with engine.begin() as conn:
        assert upsert(conn, "pbp", changed) == 2
    after = table(engine, "pbp").set_index(["game_id", "event_idx"])
    assert len(after) == 7
    den = ("201901010DEN", 1)
    assert after.loc[den, "description"] == "made shot" and after.loc[den, "points"] == 2
    assert after.loc[den, "_loaded_at"] > before.loc[den, "_loaded_at"]
    untouched = [("201901010DEN", 3), ("201901010MIL", 0)]
    assert (after.loc[untouched, "_loaded_at"] == before.loc[untouched, "_loaded_at"]).all()


def test_reupsert_of_full_rows_rewrites_only_the_changed_ones(engine):
    """Every column present (as the sources write them): an unchanged row is not written
    again and keeps its _loaded_at; a changed row is rewritten and stamped."""
    rows = pbp_rows(4).assign(provider="bbref")
    with engine.begin() as conn:
        assert upsert(conn, "pbp", rows) == 4
    before = table(engine, "pbp").set_index(["game_id", "event_idx"])
    again = rows.copy()
    again.loc[2, "description"] = "event 2 (corrected)"
    with engine.begin() as conn:
        assert upsert(conn, "pbp", again) == 1  # the rows written
    after = table(engine, "pbp").set_index(["game_id", "event_idx"])
    assert len(after) == 4
    changed = ("201901010DEN", 2)
    assert after.loc[changed, "description"] == "event 2 (corrected)"
    assert after.loc[changed, "_loaded_at"] > before.loc[changed, "_loaded_at"]
    same = [("201901010DEN", i) for i in (0, 1, 3)]
    assert (after.loc[same, "_loaded_at"] == before.loc[same, "_loaded_at"]).all()
    assert after.loc[same, "description"].tolist() == before.loc[same, "description"].tolist()


def test_upsert_into_a_table_with_a_json_column_merges(engine):
    """json has no equality operator: such rows cannot be compared, so they are written."""
    with engine.begin() as conn:
        conn.execute(text("create table public.docs (id int primary key, doc json)"))
        assert upsert(conn, "public.docs", pd.DataFrame({"id": [1], "doc": ['{"a": 1}']})) == 1
        assert upsert(conn, "public.docs", pd.DataFrame({"id": [1], "doc": ['{"a": 2}']})) == 1
        assert conn.execute(text("select doc->>'a' from public.docs")).scalar() == "2"


def test_upsert_of_some_columns_keeps_the_others(engine):
    """A frame without every column updates those columns only."""
    with engine.begin() as conn:
        upsert(conn, "schedule", schedule_rows(home_pts=98))
        partial = schedule_rows(home_pts=101).drop(columns=["arena", "attendance"])
        assert upsert(conn, "schedule", partial) == 1  # the second game did not change
    rows = table(engine, "schedule")
    assert rows.loc[0, "home_pts"] == 101
    assert rows.loc[0, "arena"] == 'Barclays "Center", Brooklyn'
    assert rows.loc[0, "attendance"] == 16164


def test_replacing_a_games_events_refuses_a_repeated_event_and_keeps_the_old_ones(engine):
    with engine.begin() as conn:
        replace_game_events(conn, "201901010DEN", pbp_rows(3))
    repeated = pbp_rows(3).assign(event_idx=[0, 1, 1])
    with pytest.raises(LoadError, match="repeated event_idx"), engine.begin() as conn:
        replace_game_events(conn, "201901010DEN", repeated)
    assert table(engine, "pbp")["event_idx"].tolist() == [0, 1, 2]
