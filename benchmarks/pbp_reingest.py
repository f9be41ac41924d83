"""Offline pbp re-ingest against its floor, paired in one run (issue 14, figure 1).

    python -m benchmarks.pbp_reingest [--games 600] [--rounds 3] [--database-url URL]

Volume is SYNTHETIC: the real recorded pages of tests/fixtures/bbref/pbp are copied into a
scratch archive under made-up game ids (same home team, other dates from 1990 on), so every
page is real HTML and every game id is fake. Each round, interleaved:

  floor    lxml parses every page (lxml.html.fromstring) + one COPY of all their rows
           (CSV prepared beforehand) into an empty table shaped like nba_source.pbp
  product  `invoke backfill --games <all ids> --sources pbp --offline --force` as a
           subprocess (Python start-up, planning, ledger, runner and all)

Prints per-round times and the ratio product / floor it is judged on (target <= 2.5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg2
from lxml import html as lxml_html

from benchmarks.scratch import libpq, machine_line, scratch_url, spread
from nba_elt.sources.pbp import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
PBP_PAGES = ROOT / "tests" / "fixtures" / "bbref" / "pbp"
SCRATCH_DB = "nba_elt_bench_pbp"
TARGET = 2.5


def synthetic_archive(archive_dir: Path, games: int) -> dict[str, str]:
    """{synthetic game id: real page html}, also written into the archive as fetched now."""
    from nba_elt.config import get_settings
    from nba_elt.extract.archive import open_archive

    pages = sorted(PBP_PAGES.glob("*.html"))
    archive = open_archive(str(archive_dir), get_settings())
    copies: dict[str, str] = {}
    for n in range(games):
        source = pages[n % len(pages)]
        day = dt.date(1990, 1, 1) + dt.timedelta(days=n)
        game_id = f"{day:%Y%m%d}0{source.stem[-3:]}"
        html = source.read_text(encoding="utf-8")
        archive.put(f"/boxscores/pbp/{game_id}.html", html, 200)
        copies[game_id] = html
    return copies


def _floor_rows(copies: dict[str, str]) -> bytes:
    from nba_elt.sources.pbp import parse_pbp
    from nba_elt.warehouse.load import copy_buffer

    return b"".join(copy_buffer(parse_pbp(h, g)).getvalue() for g, h in copies.items())


def time_floor(dsn: str, copies: dict[str, str], rows_csv: bytes) -> float:
    started = time.perf_counter()
    for html in copies.values():
        lxml_html.fromstring(html)
    parsed = time.perf_counter() - started
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("drop table if exists public.bench_pbp_floor")
        cur.execute("create table public.bench_pbp_floor (like nba_source.pbp including all)")
        conn.commit()
        started = time.perf_counter()
        columns = ", ".join(COLUMNS)
        copy = f"copy public.bench_pbp_floor ({columns}) from stdin with (format csv)"
        cur.copy_expert(copy, _io(rows_csv))
        conn.commit()
        copied = time.perf_counter() - started
        cur.execute("drop table public.bench_pbp_floor")
    return parsed + copied


def _io(data: bytes):
    import io

    return io.BytesIO(data)


def time_product(url: str, archive_dir: Path, game_ids: list[str]) -> float:
    env = dict(os.environ, NBA_ELT_DATABASE_URL=url, NBA_ELT_ARCHIVE_DIR=str(archive_dir))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    invoke = [sys.executable, "-m", "invoke", "backfill", "--games", ",".join(game_ids)]
    argv = invoke + ["--sources", "pbp", "--offline", "--force", "--json"]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"backfill failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def run(url: str, games: int, rounds: int) -> dict:
    from nba_elt.warehouse.db import get_engine

    os.environ["NBA_ELT_DATABASE_URL"] = url
    get_engine()  # migrations
    with tempfile.TemporaryDirectory(prefix="nba_elt_bench_pbp_") as tmp:
        archive_dir = Path(tmp)
        copies = synthetic_archive(archive_dir, games)
        rows_csv = _floor_rows(copies)
        rows = rows_csv.count(b"\n")
        floors, products = [], []
        for _ in range(rounds):
            floors.append(time_floor(libpq(url), copies, rows_csv))
            products.append(time_product(url, archive_dir, list(copies)))
    ratios = [p / f for p, f in zip(products, floors, strict=True)]
    return {"games": games, "rows": rows, "floor": floors, "product": products, "ratio": ratios}


def report(figures: dict) -> str:
    games = figures["games"]
    per_game = [p / games * 1000 for p in figures["product"]]
    floor_per_game = [f / games * 1000 for f in figures["floor"]]
    verdict = (
        "meets" if sorted(figures["ratio"])[len(figures["ratio"]) // 2] <= TARGET else "MISSES"
    )
    return "\n".join(
        [
            f"pbp re-ingest: {games} SYNTHETIC copies of real pages, {figures['rows']:,} rows",
            "floor s/round:   " + ", ".join(f"{v:.2f}" for v in figures["floor"]),
            "product s/round: " + ", ".join(f"{v:.2f}" for v in figures["product"]),
            f"floor ms/game:   {spread(floor_per_game)}",
            f"product ms/game: {spread(per_game)}",
            f"ratio product/floor: {spread(figures['ratio'])} -> {verdict} the target <= {TARGET}",
            f"machine: {machine_line()}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a SCRATCH database (nba_source.pbp is rewritten)")
    args = parser.parse_args(argv)
    print(report(run(scratch_url(args.database_url, SCRATCH_DB), args.games, args.rounds)))


if __name__ == "__main__":
    main()
