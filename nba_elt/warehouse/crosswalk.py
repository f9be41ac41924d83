"""Box score rows of one provider replacing the other's, and the player crosswalk they teach.

A game's box score rows come from one provider. When a provider loads a game the other
one loaded before, the two sets of rows are paired first (same game, same team, same
normalised name): each pair teaches nba_source.player_crosswalk an NBA personId ->
basketball-reference id. Then the other provider's rows of the game are deleted and the
new ones written, all in the caller's transaction. NBA rows carry the basketball-reference
id wherever the crosswalk knows it, else ``nba:<personId>``.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection

from nba_elt.players import PLAYER_PREFIX, normalised_name
from nba_elt.warehouse.load import upsert

log = logging.getLogger(__name__)

_OTHER_ROWS = sql(
    "select game_id, player_id, player, team from nba_source.boxscores "
    "where game_id = any(:games) and provider <> :provider"
)
_DELETE_OTHER = sql(
    "delete from nba_source.boxscores where game_id = any(:games) and provider <> :provider"
)
_LEARN = sql(
    """
    insert into nba_source.player_crosswalk
        (nba_person_id, bbref_player_id, player, team, learned_from)
    values (:nba, :bbref, :player, :team, :game)
    on conflict (nba_person_id) do update set
        bbref_player_id = excluded.bbref_player_id, player = excluded.player,
        team = excluded.team, learned_from = excluded.learned_from, _loaded_at = now()
    """
)
_KNOWN = sql(
    "select nba_person_id, bbref_player_id from nba_source.player_crosswalk "
    "where nba_person_id = any(:ids)"
)
# Rows loaded before the pair was known take the bbref id (and a new stamp, so the
# incremental dbt facts rebuild their games).
_RESTAMP = sql(
    "update nba_source.boxscores set player_id = :bbref, _loaded_at = now() "
    "where player_id = :nba_id and not exists (select 1 from nba_source.boxscores b "
    "where b.game_id = nba_source.boxscores.game_id and b.player_id = :bbref)"
)


def _keyed(frame: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """{(game_id, team, normalised name): player_id}, names that repeat in a team left out."""
    keys: dict[tuple[str, str, str], str] = {}
    seen: set[tuple[str, str, str]] = set()
    for row in frame.itertuples():
        key = (row.game_id, row.team, normalised_name(str(row.player)))
        if key in seen:
            keys.pop(key, None)
        else:
            keys[key] = row.player_id
        seen.add(key)
    return keys


def learn_pairs(conn: Connection, new: pd.DataFrame, provider: str) -> int:
    """Pair the other provider's rows of these games with ``new``; store the pairs."""
    games = sorted(set(new["game_id"]))
    old = pd.DataFrame(
        conn.execute(_OTHER_ROWS, {"games": games, "provider": provider}).fetchall(),
        columns=["game_id", "player_id", "player", "team"],
    )
    if old.empty:
        return 0
    ours, theirs = _keyed(new), _keyed(old)
    names = {
        (r.game_id, r.team, normalised_name(str(r.player))): r.player for r in new.itertuples()
    }
    pairs = []
    for key, our_id in ours.items():
        their_id = theirs.get(key)
        if their_id is None:
            continue
        nba_id, bbref_id = (our_id, their_id) if provider == "nba" else (their_id, our_id)
        if nba_id.startswith(PLAYER_PREFIX) and not bbref_id.startswith(PLAYER_PREFIX):
            pairs.append(
                {
                    "nba": nba_id.removeprefix(PLAYER_PREFIX),
                    "bbref": bbref_id,
                    "player": names[key],
                    "team": key[1],
                    "game": key[0],
                }
            )
    if pairs:
        conn.execute(_LEARN, pairs)
        for pair in pairs:
            conn.execute(_RESTAMP, {"bbref": pair["bbref"], "nba_id": PLAYER_PREFIX + pair["nba"]})
        log.info("player crosswalk: learned %d pair(s) from %s", len(pairs), ", ".join(games))
    return len(pairs)


def with_known_ids(conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """NBA rows: ``nba:<personId>`` -> the basketball-reference id where the crosswalk has it."""
    person_ids = [
        p.removeprefix(PLAYER_PREFIX) for p in frame["player_id"] if p.startswith(PLAYER_PREFIX)
    ]
    known = dict(conn.execute(_KNOWN, {"ids": person_ids}).all())
    if not known:
        return frame
    mapped = frame["player_id"].map(
        lambda p: known.get(p.removeprefix(PLAYER_PREFIX), p) if p.startswith(PLAYER_PREFIX) else p
    )
    return frame.assign(player_id=mapped)


def write_boxscores(conn: Connection, frame: pd.DataFrame, provider: str) -> int:
    """Write a provider's box score rows of some games, replacing the other provider's."""
    if frame.empty:
        return 0
    learn_pairs(conn, frame, provider)
    if provider == "nba":
        frame = with_known_ids(conn, frame)
    conn.execute(_DELETE_OTHER, {"games": sorted(set(frame["game_id"])), "provider": provider})
    return upsert(conn, "boxscores", frame.assign(provider=provider))
