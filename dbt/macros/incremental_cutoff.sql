{#
    The `_loaded_at` from which an incremental fact re-reads its source: the newest
    `_loaded_at` it already holds, minus var('incremental_lookback_minutes'). Filtering on when a
    row was loaded (not on its game date) is what brings a backfilled old date into the fact.
#}
{% macro incremental_cutoff(relation) -%}
    (
        select coalesce(max(_loaded_at), '-infinity'::timestamptz)
            - interval '{{ var("incremental_lookback_minutes") | int }} minutes'
        from {{ relation }}
    )
{%- endmacro %}
