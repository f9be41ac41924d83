"""Writing frames into nba_source: upsert by key (COPY, then INSERT ... ON CONFLICT).

Both functions run on a SQLAlchemy Connection the caller opened with ``engine.begin()``:
one transaction per unit of work, so a failure writes nothing for that unit.
"""

from __future__ import annotations

import io
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy.engine import Connection

from nba_elt.errors import BadInput, LoadError
from nba_elt.warehouse.db_errors import database_error

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
    if key in _SHAPES:
        return _SHAPES[key]
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
    _SHAPES[key] = types, [row[0] for row in cursor.fetchall()]
    return _SHAPES[key]


def _check_columns(types: dict[str, str], schema: str, name: str, frame, key: list[str]) -> None:
    unknown = [c for c in frame.columns if c not in types]
    if unknown:
        raise LoadError(f"{schema}.{name} has no column(s) {', '.join(unknown)}")
    missing_key = [c for c in key if c not in frame.columns]
    if missing_key:
        raise LoadError(f"rows for {schema}.{name} lack key column(s) {missing_key}")


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
    _check_columns(types, schema, name, frame, pk)
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


def _write_sql(
    target: str, stage: str, columns: list[str], types: dict[str, str], pk: list[str], unique: bool
) -> list[str]:
    """The statement(s) writing the staged rows that are new or changed."""
    q = _quote
    column_list = ", ".join(q(c) for c in columns)
    values = [c for c in columns if c not in pk]
    comparable = not any(types.get(c) in _NO_EQUALITY for c in values)

    def assignments(staged: str) -> str:
        sets = [f"{q(c)} = {staged}.{q(c)}" for c in values]
        return ", ".join(sets + (["_loaded_at = now()"] if "_loaded_at" in types else []))

    def differs(staged: str) -> str:
        if not comparable:
            return "true"  # rows that cannot be compared are written again
        old = ", ".join(f"t.{q(c)}" for c in values)
        return f"({old}) is distinct from ({', '.join(f'{staged}.{q(c)}' for c in values)})"

    if unique:
        action = f"do update set {assignments('excluded')} where {differs('excluded')}"
        return [
            f"insert into {target} as t ({column_list}) select {column_list} from {stage} "
            f"on conflict ({', '.join(q(c) for c in pk)}) {action if values else 'do nothing'}"
        ]
    key_match = " and ".join(f"t.{q(c)} = s.{q(c)}" for c in pk)
    insert = (
        f"insert into {target} ({column_list}) select {column_list} from {stage} s "
        f"where not exists (select 1 from {target} t where {key_match})"
    )
    if not values:
        return [insert]
    update = (
        f"update {target} t set {assignments('s')} from {stage} s "
        f"where {key_match} and {differs('s')}"
    )
    return [update, insert]


def upsert(
    conn: Connection, table: str, frame: pd.DataFrame, *, primary_keys: list[str] | None = None
) -> int:
    """Insert or update ``frame`` into ``table`` (nba_source.<table> by default) by its key;
    the rows written.

    The key is the table's primary key (``primary_keys`` names it for a table without one).
    The rows are COPYed into a temp table (no WAL, no index), then one ``INSERT ... ON
    CONFLICT (key) DO UPDATE SET <the frame's columns>, _loaded_at = now() WHERE <they
    differ>``: a new key is inserted, a changed row updated, an unchanged row not written
    at all, so it keeps its _loaded_at and the incremental dbt facts have nothing to redo
    for it (a re-backfill of loaded dates mostly brings the same rows). Columns the frame
    lacks keep their values. A second writer of the same key waits for the first and then
    updates. A table without a primary key has nothing ON CONFLICT can use: the same rows
    go through ``UPDATE ... FROM`` and ``INSERT ... WHERE NOT EXISTS``. Measured in
    benchmarks/upsert.py (docs/benchmarks.md). Raises LoadError.
    """
    if frame.empty:
        return 0
    schema, name = _qualified(table)
    target = f"{_quote(schema)}.{_quote(name)}"
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor:
            types, pk = _checked_shape(cursor, schema, name, frame, primary_keys)
            has_pk = bool(_cached_shape(cursor, schema, name)[1])
            columns = [c for c in frame.columns if c != "_loaded_at"]
            stage = _copy_into_stage(cursor, target, frame[columns], types)
            written = 0
            for statement in _write_sql(target, stage, columns, types, pk, has_pk):
                cursor.execute(statement)
                written += cursor.rowcount
            cursor.execute(f"drop table {stage}")
    except (LoadError, BadInput):
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes a LoadError
        raise database_error(exc, f"writing {len(frame)} rows to {schema}.{name}") from exc
    log.debug("upserted %d of %d rows into %s.%s", written, len(frame), schema, name)
    return written


def _checked_game_events(cursor, game_id: str, frame: pd.DataFrame) -> dict[str, str]:
    """`_checked_shape` for one game's events, without pandas' general key checks: the key
    is (game_id, event_idx) and game_id is one value, so event_idx must be whole and unique."""
    types, _ = _cached_shape(cursor, SCHEMA, "pbp")
    _check_columns(types, SCHEMA, "pbp", frame, ["event_idx"])
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
        raise database_error(exc, f"replacing the pbp of {game_id}") from exc
    log.debug("replaced the pbp of %s: %d events", game_id, len(frame))
    return len(frame)
