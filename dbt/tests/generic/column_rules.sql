{#
    Every column rule of a model in one dbt node: what dbt's not_null, accepted_values,
    unique and relationships tests check, one node and one query for all of them, where dbt
    runs a node per rule per column. A refresh's time goes mostly to dbt's work per node
    (docs/benchmarks.md): 77 test nodes became 30.

        not_null:         [column, ...]
        accepted_values:  {column: [value, ...]}        nulls pass, as in dbt's test
        unique:           [column or [column, ...], ...] nulls pass for a single column
        relationships:    {column: {to: ref('...'), field: column}}   nulls pass

    One row per broken rule, (rule, bad_rows): nba_elt/transform/dbt.py reads them back when
    the test fails or warns, so the refresh names them: "broken: outcome in ('W', 'L') (2
    rows)". bad_rows counts rows (for `unique`, the rows that share a key). On the facts, an
    incremental refresh looks at the games it rebuilt (macros/tested_rows.sql), as for every
    test.
#}
{% test column_rules(model, not_null=[], accepted_values={}, unique=[], relationships={}) %}

{%- set scanned = [] -%}
{%- for column in not_null -%}
    {%- do scanned.append((column ~ ' not null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ value ~ "'" if value is string else value | string) -%}
    {%- endfor -%}
    {%- set value_list = listed | join(', ') -%}
    {%- do scanned.append((column ~ ' in (' ~ value_list ~ ')', column ~ ' not in (' ~ value_list ~ ')')) -%}
{%- endfor -%}

{%- set counted = [] -%}
{%- for key in unique -%}
    {%- set columns = [key] if key is string else key -%}
    {%- set key_sql = columns | join(', ') -%}
    {%- set rule = key_sql ~ ' unique' if key is string else '(' ~ key_sql ~ ') unique' -%}
    {%- set duplicates -%}
        select coalesce(sum(n_rows), 0) from (
            select count(*) as n_rows from {{ model }}
            {% if key is string %}where {{ key }} is not null{% endif %}
            group by {{ key_sql }}
            having count(*) > 1
        ) as duplicated_keys
    {%- endset -%}
    {%- do counted.append((rule, duplicates)) -%}
{%- endfor -%}
{%- for column, parent in relationships.items() -%}
    {%- set orphans -%}
        {#- {{ model }} may be a subquery with its own alias (macros/tested_rows.sql) #}
        select count(*) from (select * from {{ model }}) as child
        where child.{{ column }} is not null
            and not exists (
                select 1 from {{ parent.to }} as parent
                where parent.{{ parent.field }} = child.{{ column }}
            )
    {%- endset -%}
    {%- do counted.append((column ~ ' in ' ~ parent.to.identifier ~ '.' ~ parent.field, orphans)) -%}
{%- endfor -%}

with

{% if scanned %}
scanned as (

    select
        {%- for rule, broken in scanned %}
        count(*) filter (where {{ broken }}) as bad_rows_{{ loop.index }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

),
{% endif %}

rules as (

    {%- for rule, broken in scanned %}
    select '{{ rule | replace("'", "''") }}' as rule, (select bad_rows_{{ loop.index }} from scanned) as bad_rows
    {%- if not loop.last or counted %} union all{% endif %}
    {%- endfor %}
    {%- for rule, query in counted %}
    select '{{ rule | replace("'", "''") }}' as rule, ({{ query }}) as bad_rows
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}

)

select rule, bad_rows
from rules
where bad_rows > 0

{% endtest %}
