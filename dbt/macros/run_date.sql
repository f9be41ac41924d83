{#
    The date the "tonight" models are built for: var('run_date') (YYYY-MM-DD), else today in
    US Eastern time, the NBA's calendar. Rendered as a SQL date literal.
#}
{% macro run_date() -%}
    {%- set value = var('run_date', none) -%}
    {%- if value is none or value | string | trim == '' -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.timezone('America/New_York')).date().isoformat() -%}
    {%- endif -%}
    date '{{ value | string | trim }}'
{%- endmacro %}
