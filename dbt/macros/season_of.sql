{# The season of a date, named by the year it ends (2024-25 -> 2025); August 1 is the cut-over. #}
{% macro season_of(date_column) -%}
    (extract(year from {{ date_column }})::int + case when extract(month from {{ date_column }}) >= 8 then 1 else 0 end)
{%- endmacro %}
