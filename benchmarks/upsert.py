"""Upsert throughput on SYNTHETIC play-by-play rows (generated here, not real games).

    python -m benchmarks.upsert [--rows 1000000] [--rounds 3] [--skip-to-sql]

Compares, on the warehouse of NBA_ELT_DATABASE_URL (or the embedded local Postgres),
inside a scratch schema that is dropped afterwards:
  (a) nba_elt.warehouse.load.upsert into an empty table (new keys), then over the same
      keys twice: the same rows again (a re-backfill of loaded dates: nothing changed) and
      rows whose every event changed (a corrected page: each row rewritten)
  (b) a raw COPY into an empty table of the same shape (the ceiling)
  (c) pandas DataFrame.to_sql into a temp table + INSERT ... ON CONFLICT (the approach of
      the system we replace)
  (d) the bound for rewriting every row: over the same loaded table, DELETE every row and
      COPY them back (no key matching at all; what "delete + insert of the keys" costs at
      best when every row has changed)
Prints one line per method and a JSON summary last.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sqlalchemy import text

from benchmarks.scratch import machine_line, spread
from nba_elt.warehouse.db import get_engine
from nba_elt.warehouse.load import copy_buffer, upsert

SCRATCH = "bench_upsert"


def synthetic_pbp(rows: int, seed: int = 7) -> pd.DataFrame:
    """``rows`` fake events: ~470 per game, like a real game; labelled SYNTHETIC."""
    rng = np.random.default_rng(seed)
    per_game = 470
    games = (rows + per_game - 1) // per_game
    idx = np.arange(rows)
    game_no = idx // per_game
    points = rng.choice([0, 0, 0, 1, 2, 3], size=rows)
    return pd.DataFrame(
        {
            "game_id": [f"2{n:07d}0SYN" for n in game_no],
            "event_idx": (idx % per_game).astype("int64"),
            "game_date": pd.to_datetime("2000-01-01")
            + pd.to_timedelta(game_no % max(games, 1), unit="D"),
            "period": (idx % per_game) * 4 // per_game + 1,
            "clock_secs": np.round(rng.uniform(0, 720, size=rows), 1),
            "team": rng.choice(["AAA", "BBB", None], size=rows),
            "description": "SYNTHETIC event " + pd.Series(idx).astype(str),
            "away_score": rng.integers(0, 130, size=rows),
            "home_score": rng.integers(0, 130, size=rows),
            "points": points,
            "provider": "bbref",  # every column a real pbp row carries (sources/pbp.py)
        }
    ).assign(game_date=lambda f: f["game_date"].dt.date)


def _fresh_table(conn, name: str) -> str:
    conn.execute(text(f"drop table if exists {SCRATCH}.{name}"))
    conn.execute(text(f"create table {SCRATCH}.{name} (like nba_source.pbp including all)"))
    return f"{SCRATCH}.{name}"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def changed_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """The same keys with every row's description changed (SYNTHETIC)."""
    return frame.assign(description=frame["description"] + " (corrected)")


def bench_upsert(engine, frame) -> tuple[float, float, float, float]:
    """Seconds for: new keys, the same rows again, every row changed, (d) delete all + COPY."""
    with engine.begin() as conn:
        _fresh_table(conn, "pbp_a")
    changed = changed_copy(frame)

    def once(rows):
        with engine.begin() as conn:
            upsert(conn, f"{SCRATCH}.pbp_a", rows)

    def delete_all_and_copy():
        with engine.begin() as conn, conn.connection.dbapi_connection.cursor() as cur:
            cur.execute(f"delete from {SCRATCH}.pbp_a")
            columns = ", ".join(frame.columns)
            cur.copy_expert(
                f"copy {SCRATCH}.pbp_a ({columns}) from stdin with (format csv)",
                copy_buffer(frame),
            )

    return (
        timed(lambda: once(frame)),
        timed(lambda: once(frame)),
        timed(lambda: once(changed)),
        timed(delete_all_and_copy),
    )


def bench_copy(engine, frame) -> float:
    with engine.begin() as conn:
        target = _fresh_table(conn, "pbp_b")

    def once():
        with engine.begin() as conn:
            buffer = copy_buffer(frame)  # the same serialisation as (a): COPY is the ceiling
            columns = ", ".join(frame.columns)
            with conn.connection.dbapi_connection.cursor() as cur:
                cur.copy_expert(f"copy {target} ({columns}) from stdin with (format csv)", buffer)

    return timed(once)


def bench_to_sql(engine, frame) -> float:
    with engine.begin() as conn:
        target = _fresh_table(conn, "pbp_c")

    def once():
        with engine.begin() as conn:
            frame.to_sql("_stage_to_sql", conn, if_exists="replace", index=False, chunksize=10_000)
            columns = ", ".join(frame.columns)
            updates = ", ".join(
                f"{c} = excluded.{c}" for c in frame.columns if c not in ("game_id", "event_idx")
            )
            conn.execute(
                text(
                    f"insert into {target} ({columns}) select {columns} from _stage_to_sql "
                    f"on conflict (game_id, event_idx) do update set {updates}, _loaded_at = now()"
                )
            )
            conn.execute(text("drop table _stage_to_sql"))

    return timed(once)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (a, then b)")
    parser.add_argument("--skip-to-sql", action="store_true", help="skip the slow method (c)")
    args = parser.parse_args(argv)
    engine = get_engine()
    frame = synthetic_pbp(args.rows)
    with engine.begin() as conn:
        conn.execute(text(f"create schema if not exists {SCRATCH}"))
    rounds: list[dict[str, float]] = []
    to_sql_s = None
    try:
        for _ in range(args.rounds):  # interleaved: each round times (a) and (b) back to back
            insert_s, same_s, changed_s, bound_s = bench_upsert(engine, frame)
            copy_s = bench_copy(engine, frame)
            rounds.append(
                {"new": insert_s, "re": same_s, "changed": changed_s, "bound": bound_s,
                 "copy": copy_s}
            )  # fmt: skip
        if not args.skip_to_sql:
            to_sql_s = bench_to_sql(engine, frame)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"drop schema if exists {SCRATCH} cascade"))
    print(report(args.rows, rounds, to_sql_s))


def report(rows: int, rounds: list[dict[str, float]], to_sql_s: float | None) -> str:
    re_ratio = [r["copy"] / r["re"] for r in rounds]
    changed_ratio = [r["copy"] / r["changed"] for r in rounds]
    new_ratio = [r["copy"] / r["new"] for r in rounds]
    bound_ratio = [r["copy"] / r["bound"] for r in rounds]
    lines = [f"upsert: {rows:,} SYNTHETIC pbp rows, {len(rounds)} paired rounds"]
    for n, r in enumerate(rounds, start=1):
        lines.append(
            f"round {n}: (a) new keys {rows / r['new']:,.0f} rows/s, (a) re-upsert same rows "
            f"{rows / r['re']:,.0f} rows/s, every row changed {rows / r['changed']:,.0f} "
            f"rows/s, (d) delete all + COPY {rows / r['bound']:,.0f} rows/s, (b) raw COPY "
            f"{rows / r['copy']:,.0f} rows/s"
        )
    lines.append(f"new keys / COPY: {spread(new_ratio)}")
    verdict = "meets" if sorted(re_ratio)[len(re_ratio) // 2] >= 0.7 else "MISSES"
    lines.append(
        f"re-upsert of the same rows / COPY: {spread(re_ratio)} -> {verdict} the target >= 0.7"
    )
    lines.append(f"re-upsert, every row changed / COPY: {spread(changed_ratio)}")
    lines.append(
        f"(d) bound for rewriting every row, delete all + COPY / COPY: {spread(bound_ratio)}"
    )
    if to_sql_s is not None:
        median_new = sorted(r["new"] for r in rounds)[len(rounds) // 2]
        lines.append(
            f"(c) pandas to_sql + ON CONFLICT {rows / to_sql_s:,.0f} rows/s (one run); "
            f"(a) new keys / (c): {to_sql_s / median_new:.1f}x"
        )
    lines.append(f"machine: {machine_line()}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
