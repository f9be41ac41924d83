"""Backfill flag validation: every mistake is BadInput (exit 2) before any I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from nba_elt.dates import today_eastern
from nba_elt.errors import EXIT_BAD_INPUT, BadInput
from nba_elt.ingest.request import parse_request

VALID = ("schedule", "boxscores", "pbp")


def _parse(**kwargs):
    return parse_request(valid_sources=VALID, max_days=31, **kwargs)


def test_one_date_and_sources_in_canonical_order():
    req = _parse(date="2018-01-01", sources="pbp, BOXSCORES")
    assert req.dates == (dt.date(2018, 1, 1),)
    assert req.sources == ("boxscores", "pbp")


def test_range_and_default_sources():
    req = _parse(start="2018-01-01", end="2018-01-03")
    assert [d.day for d in req.dates] == [1, 2, 3]
    assert req.sources is None


def test_games_are_validated_and_normalised():
    req = _parse(games="201901010den, 201810160GSW,201901010DEN", sources="pbp")
    assert req.game_ids == ("201901010DEN", "201810160GSW")


def test_predict_implies_refresh():
    req = _parse(date="2018-01-01", predict=True)
    assert req.refresh and req.predict and req.notes


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"date": "2018-13-01"}, "YYYY-MM-DD"),
        ({"date": "yesterday"}, "YYYY-MM-DD"),
        ({"start": "2018-01-05", "end": "2018-01-01"}, "before"),
        ({"date": (today_eastern() + dt.timedelta(days=2)).isoformat()}, "future"),
        ({"date": "2018-01-01", "start": "2018-01-01", "end": "2018-01-02"}, "not both"),
        ({"start": "2018-01-01"}, "go together"),
        ({"date": "2018-01-01", "sources": "boxscores,odds"}, "valid sources: schedule"),
        ({"date": "2018-01-01", "sources": ","}, "empty"),
        ({"start": "2018-01-01", "end": "2018-03-01"}, "--yes"),
        ({"games": "201901010DENVER"}, "game id"),
        ({"games": "2019-01-01DEN"}, "game id"),
        ({"games": "201913010DEN"}, "game id"),
        ({"games": "201901010ZZZ"}, "unknown team code 'ZZZ'"),
        ({"games": "201901010DEN,201810160XYZ"}, "unknown team code 'XYZ'"),
        ({"games": "201901010DEN", "date": "2019-01-01"}, "not both"),
        ({"resume": "7", "date": "2018-01-01"}, "--resume"),
        ({"resume": "7", "sources": "pbp"}, "--resume"),
        ({"resume": "seven"}, "run id"),
        ({"resume": "0"}, "run id"),
        ({}, "say what to backfill"),
    ],
)
def test_bad_input(kwargs, needle):
    with pytest.raises(BadInput) as info:
        _parse(**kwargs)
    assert needle in str(info.value)
    assert info.value.exit_code == EXIT_BAD_INPUT


def test_long_range_with_yes_is_allowed():
    req = _parse(start="2018-01-01", end="2018-03-01", yes=True)
    assert len(req.dates) == 60


def test_resume_alone():
    req = _parse(resume="12", offline=True)
    assert req.resume == 12 and req.offline and not req.dates


def test_from_flags_takes_the_python_forms_and_the_settings_limit(monkeypatch):
    from nba_elt.config import get_settings
    from nba_elt.ingest.request import BackfillRequest

    req = BackfillRequest.from_flags(date=dt.date(2018, 1, 1), sources=["pbp", "boxscores"])
    assert (req.dates, req.sources) == ((dt.date(2018, 1, 1),), ("boxscores", "pbp"))
    assert BackfillRequest.from_flags(games=["201901010den"]).game_ids == ("201901010DEN",)
    monkeypatch.setenv("NBA_ELT_MAX_BACKFILL_DAYS", "2")
    with pytest.raises(BadInput, match="more than the maximum of 2"):
        BackfillRequest.from_flags(get_settings(), start="2018-01-01", end="2018-01-03")
    with pytest.raises(TypeError):
        BackfillRequest.from_flags(dat="2018-01-01")  # a mistyped keyword is not ignored
