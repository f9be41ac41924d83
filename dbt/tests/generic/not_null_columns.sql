{#
    None of `columns` holds a null: one dbt node and one scan of the model for all of them,
    where dbt's `not_null` is a node and a scan per column (a refresh's time goes mostly to
    dbt's per-node work; docs/benchmarks.md). One row per column that has nulls, with how many;
    nba_elt/transform/dbt.py reads those rows back when the test fails or warns, so the
    refresh names the columns. On the facts, an incremental refresh looks at the games it
    rebuilt (macros/tested_rows.sql), as for every test.
#}
{% test not_null_columns(model, columns) %}

with

null_counts as (

    select
        {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as null_rows_{{ loop.index }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

),

per_column as (

    select per_column.column_name, per_column.null_rows
    from null_counts
    cross join lateral (
        values
        {%- for column in columns %}
            ('{{ column }}', null_rows_{{ loop.index }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as per_column (column_name, null_rows)

)

select * from per_column
where null_rows > 0

{% endtest %}
