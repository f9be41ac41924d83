{#
    The `_loaded_at` from which an incremental fact re-reads its source: the newest
    `_loaded_at` it already holds, minus var('incremental_lookback_minutes'). Filtering on when a
    row was loaded (not on its game date) is what brings a backfilled old date into the fact.
    Rows are taken when `_loaded_at > cutoff`: every row of one load transaction carries the same
    now(), and a transaction is seen whole or not at all, so rows AT the newest value are in.
    Read once at compile time and written as a literal, so Postgres can use the _loaded_at index
    of the source table (nba_elt migration 0005).
#}
{% macro incremental_cutoff(relation) -%}
    {%- set query -%}
        select coalesce(max(_loaded_at), '1900-01-01 00:00:00+00'::timestamptz)
            - interval '{{ var("incremental_lookback_minutes") | int }} minutes'
        from {{ relation }}
    {%- endset -%}
    {%- if execute -%}
        {%- set cutoff = run_query(query).columns[0].values()[0] -%}
        '{{ cutoff }}'::timestamptz
    {%- else -%}
        '1900-01-01 00:00:00+00'::timestamptz
    {%- endif -%}
{%- endmacro %}
