"""Writing frames into nba_source: upsert by key (delete the keys + COPY, or a merge).

Both functions run on a SQLAlchemy Connection the caller opened with ``engine.begin()``:
one transaction per unit of work, so a failure writes nothing for that unit.
"""

from __future__ import annotations

import io
import logging

import pandas as pd
import psycopg2.errors
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy.engine import Connection

from nba_elt.errors import BadInput, LoadError

log = logging.getLogger(__name__)

SCHEMA = "nba_source"
_INTEGER_TYPES = {"integer", "bigint", "smallint"}
# column types without an equality operator: rows holding them cannot be compared
_NO_EQUALITY = {"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"}


def _qualified(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return (schema or SCHEMA), name


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _table_shape(cursor, schema: str, name: str) -> tuple[dict[str, str], list[str]]:
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        (schema, name),
    )
    types = dict(cursor.fetchall())
    if not types:
        raise LoadError(f"table {schema}.{name} does not exist; run the migrations (db.up)")
    cursor.execute(
        "select a.attname from pg_index i "
        "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
        "where i.indrelid = %s::regclass and i.indisprimary",
        (f"{_quote(schema)}.{_quote(name)}",),
    )
    pk = [row[0] for row in cursor.fetchall()]
    return types, pk


def copy_buffer(frame: pd.DataFrame, types: dict[str, str] | None = None) -> io.BytesIO:
    """The frame as CSV for ``COPY ... (format csv)``: NULL unquoted-empty, '' quoted.

    Written by Arrow's C++ CSV writer (about 10x pandas.to_csv); whole-number floats bound
    for integer columns become integers first.
    """
    out = frame
    if types:
        to_int = [
            c
            for c in frame.columns
            if types.get(c) in _INTEGER_TYPES and frame[c].dtype.kind == "f"
        ]
        if to_int:
            out = frame.assign(**{c: frame[c].astype("Int64") for c in to_int})
    table = pa.Table.from_pandas(out, preserve_index=False)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, write_options=pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    return buffer


# (database, schema, table) -> (column types, primary key): the catalog is read once per
# process, not once per unit. Migrations call `forget_table_shapes` after changing tables.
_SHAPES: dict[tuple[str, str, str], tuple[dict[str, str], list[str]]] = {}


def forget_table_shapes() -> None:
    _SHAPES.clear()


def _cached_shape(cursor, schema: str, name: str) -> tuple[dict[str, str], list[str]]:
    dsn = cursor.connection.get_dsn_parameters()
    key = (f"{dsn.get('host')}:{dsn.get('port')}/{dsn.get('dbname')}", schema, name)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _table_shape(cursor, schema, name)
    return shape


def _checked_shape(cursor, schema: str, name: str, frame: pd.DataFrame, key=None):
    """The target's column types and key, after checking the frame fits them.

    `key` names the columns that identify a row when the table has no primary key; for a
    table with one it must name the same columns.
    """
    types, pk = _cached_shape(cursor, schema, name)
    if key:
        if pk and sorted(key) != sorted(pk):
            raise BadInput(
                f"{schema}.{name} has the primary key ({', '.join(pk)}); primary_keys "
                f"({', '.join(key)}) must name the same columns or be left out"
            )
        pk = pk or list(key)
    if not pk:
        raise BadInput(
            f"{schema}.{name} has no primary key: say which columns identify a row "
            "(primary_keys=[...])"
        )
    unknown = [c for c in frame.columns if c not in types]
    if unknown:
        raise LoadError(f"{schema}.{name} has no column(s) {', '.join(unknown)}")
    missing_key = [c for c in pk if c not in frame.columns]
    if missing_key:
        raise LoadError(f"rows for {schema}.{name} lack key column(s) {missing_key}")
    if frame[pk].isna().any().any():
        raise LoadError(f"rows for {schema}.{name} have an empty key ({', '.join(pk)})")
    duplicated = frame.duplicated(pk, keep=False)
    if duplicated.any():
        sample = frame.loc[duplicated, pk].head(3).to_dict("records")
        raise LoadError(f"rows for {schema}.{name} repeat a key, e.g. {sample}")
    return types, pk


def _copy_into_stage(cursor, target: str, frame: pd.DataFrame, types: dict[str, str]) -> str:
    stage = "_stage_" + target.split(".")[-1].strip('"')
    cursor.execute(f"drop table if exists {stage}")
    cursor.execute(f"create temp table {stage} (like {target} including defaults) on commit drop")
    columns = ", ".join(_quote(c) for c in frame.columns)
    cursor.copy_expert(
        f"copy {stage} ({columns}) from stdin with (format csv)", copy_buffer(frame, types)
    )
    return stage


def _on_conflict_sql(
    target: str, stage: str, columns: list[str], pk: list[str], stamp: bool
) -> str:
    column_list = ", ".join(_quote(c) for c in columns)
    updates = [f"{_quote(c)} = excluded.{_quote(c)}" for c in columns if c not in pk]
    if stamp:
        updates.append("_loaded_at = now()")
    action = f"do update set {', '.join(updates)}" if updates else "do nothing"
    return (
        f"insert into {target} ({column_list}) select {column_list} from {stage} "
        f"on conflict ({', '.join(_quote(c) for c in pk)}) {action}"
    )


def _merge(cursor, target: str, stage: str, columns: list[str], pk: list[str], stamp: bool) -> int:
    """Stage -> target with INSERT ... ON CONFLICT DO UPDATE semantics.

    Fast path (measured in benchmarks/upsert.py: ON CONFLICT's speculative insertion about
    doubles the cost of a bulk insert): UPDATE the rows whose key exists, then a plain
    INSERT of the others. Should another writer insert one of these keys in between, the
    unique violation rolls back to a savepoint and the same rows go through
    ``INSERT ... ON CONFLICT (pk) DO UPDATE``. Either way every row ends up written once,
    with _loaded_at = now().
    """
    column_list = ", ".join(_quote(c) for c in columns)
    key_match = " and ".join(f"t.{_quote(c)} = s.{_quote(c)}" for c in pk)
    sets = [f"{_quote(c)} = s.{_quote(c)}" for c in columns if c not in pk]
    if stamp:
        sets.append("_loaded_at = now()")
    cursor.execute("savepoint nba_elt_upsert")
    try:
        updated = 0
        if sets:
            cursor.execute(
                f"update {target} t set {', '.join(sets)} from {stage} s where {key_match}"
            )
            updated = cursor.rowcount
        cursor.execute(
            f"insert into {target} ({column_list}) select {column_list} from {stage} s "
            f"where not exists (select 1 from {target} t where {key_match})"
        )
        inserted = cursor.rowcount
        cursor.execute("release savepoint nba_elt_upsert")
        return updated + inserted
    except psycopg2.errors.UniqueViolation:
        log.info("%s: a key appeared meanwhile; merging with ON CONFLICT", target)
        cursor.execute("rollback to savepoint nba_elt_upsert")
    cursor.execute(_on_conflict_sql(target, stage, columns, pk, stamp))
    return cursor.rowcount


def _replace_rows(cursor, target: str, frame: pd.DataFrame, types, pk: list[str]) -> int | None:
    """Rows that carry every column: rewrite only the rows that changed, insert the new ones.

    A re-backfill of loaded dates mostly brings the same rows again. COPY them into a temp
    table (no WAL, no index), delete the target's rows whose key is staged but whose
    columns differ, then insert every staged row whose key is no longer there. An
    unchanged row is not written at all: it keeps its _loaded_at, so the incremental dbt
    facts have nothing to redo for it; a changed or new row takes _loaded_at = now().
    Measured in benchmarks/upsert.py against a raw COPY (docs/benchmarks.md). Should
    another writer insert one of these keys meanwhile, the unique violation rolls back to
    a savepoint and None tells the caller to merge with ON CONFLICT instead.
    """
    columns = list(frame.columns)
    if any(types.get(c) in _NO_EQUALITY for c in columns):
        return None  # rows cannot be compared: the caller merges with ON CONFLICT
    column_list = ", ".join(_quote(c) for c in columns)
    key_match = " and ".join(f"t.{_quote(c)} = s.{_quote(c)}" for c in pk)
    values = ", ".join(f"t.{_quote(c)}" for c in columns if c not in pk)
    staged = ", ".join(f"s.{_quote(c)}" for c in columns if c not in pk)
    changed = f" and ({values}) is distinct from ({staged})" if values else " and false"
    cursor.execute("savepoint nba_elt_upsert")
    try:
        stage = _copy_into_stage(cursor, target, frame, types)
        cursor.execute(f"analyze {stage}")
        cursor.execute(f"delete from {target} t using {stage} s where {key_match}{changed}")
        cursor.execute(
            f"insert into {target} ({column_list}) select {column_list} from {stage} s "
            f"where not exists (select 1 from {target} t where {key_match})"
        )
        cursor.execute(f"drop table {stage}")
        cursor.execute("release savepoint nba_elt_upsert")
        return len(frame)
    except psycopg2.errors.UniqueViolation:
        log.info("%s: a key appeared meanwhile; merging with ON CONFLICT", target)
        cursor.execute("rollback to savepoint nba_elt_upsert")
        return None


def upsert(
    conn: Connection, table: str, frame: pd.DataFrame, *, primary_keys: list[str] | None = None
) -> int:
    """Insert or update ``frame`` into ``table`` (nba_source.<table> by default) by its key.

    The key is the table's primary key (``primary_keys`` names it for a table without one).
    COPY into a temp table, then merge with ``INSERT ... ON CONFLICT (pk) DO UPDATE SET
    ..., _loaded_at = now()`` semantics (see `_merge` for the faster equivalent it tries
    first). Returns the number of rows written. Raises LoadError.
    """
    if frame.empty:
        return 0
    schema, name = _qualified(table)
    target = f"{_quote(schema)}.{_quote(name)}"
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor:
            types, pk = _checked_shape(cursor, schema, name, frame, primary_keys)
            columns = [c for c in frame.columns if c != "_loaded_at"]
            stamp = "_loaded_at" in types
            written = None
            # delete + COPY only where a primary key stops a second writer's duplicates
            has_pk = bool(_cached_shape(cursor, schema, name)[1])
            if has_pk and set(types) - {"_loaded_at"} <= set(columns):
                written = _replace_rows(cursor, target, frame[columns], types, pk)
            if written is None:
                stage = _copy_into_stage(cursor, target, frame, types)
                written = _merge(cursor, target, stage, columns, pk, stamp)
                cursor.execute(f"drop table {stage}")
    except (LoadError, BadInput):
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes a LoadError
        reason = str(getattr(exc, "pgerror", None) or exc).strip().splitlines()[0]
        raise LoadError(f"writing {len(frame)} rows to {schema}.{name} failed: {reason}") from exc
    log.debug("upserted %d rows into %s.%s", written, schema, name)
    return written


def _checked_game_events(cursor, game_id: str, frame: pd.DataFrame) -> dict[str, str]:
    """`_checked_shape` for one game's events, without pandas' general key checks: the key
    is (game_id, event_idx) and game_id is one value, so event_idx must be whole and unique."""
    types, _ = _cached_shape(cursor, SCHEMA, "pbp")
    unknown = [c for c in frame.columns if c not in types]
    if unknown:
        raise LoadError(f"{SCHEMA}.pbp has no column(s) {', '.join(unknown)}")
    if "event_idx" not in frame.columns:
        raise LoadError(f"rows for {SCHEMA}.pbp lack key column(s) ['event_idx']")
    events = frame["event_idx"]
    if events.isna().any() or not events.is_unique:
        raise LoadError(f"pbp rows for {game_id} have an empty or repeated event_idx")
    return types


def replace_game_events(
    conn: Connection, game_id: str, frame: pd.DataFrame, rows_csv: bytes | None = None
) -> int:
    """Replace every pbp event of one game: delete, then COPY the new events straight in.

    Runs in the caller's transaction, so a failure keeps the old events. After the
    delete no key can conflict, so no staging table is needed. Returns rows written.
    ``rows_csv``: ``copy_buffer(frame)`` made beforehand (by a parsing worker process).
    """
    if not frame.empty and set(frame["game_id"].unique()) != {game_id}:
        raise LoadError(f"pbp rows for {game_id} contain other game ids")
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor:
            types = _checked_game_events(cursor, game_id, frame)
            cursor.execute(f"delete from {SCHEMA}.pbp where game_id = %s", (game_id,))
            if frame.empty:
                return 0
            columns = ", ".join(_quote(c) for c in frame.columns)
            cursor.copy_expert(
                f"copy {SCHEMA}.pbp ({columns}) from stdin with (format csv)",
                io.BytesIO(rows_csv) if rows_csv is not None else copy_buffer(frame, types),
            )
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes a LoadError
        reason = str(getattr(exc, "pgerror", None) or exc).strip().splitlines()[0]
        raise LoadError(f"replacing the pbp of {game_id} failed: {reason}") from exc
    log.debug("replaced the pbp of %s: %d events", game_id, len(frame))
    return len(frame)
