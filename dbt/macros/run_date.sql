{#
    The date the "tonight" models are built for, rendered as a SQL date literal:
    var('run_date') when given on the command line (dbt build --vars), else the environment
    variable NBA_ELT_RUN_DATE (YYYY-MM-DD; `invoke refresh` sets it), else today in US
    Eastern time, the NBA's calendar.

    The environment variable is read only when dbt executes (`execute`), never while it
    parses: dbt records the env_var() values seen at parse time and re-parses what used
    them when they change, and a new --vars value makes it re-parse the whole project.
    Read at execution, a new date each day keeps partial parsing (about 4 s saved a build).
#}
{% macro run_date() -%}
    {%- set value = var('run_date', none) -%}
    {%- if (value is none or value | string | trim == '') and execute -%}
        {%- set value = env_var('NBA_ELT_RUN_DATE', '') -%}
    {%- endif -%}
    {%- if value is none or value | string | trim == '' -%}
        {%- set value = modules.datetime.datetime.now(modules.pytz.timezone('America/New_York')).date().isoformat() -%}
    {%- endif -%}
    date '{{ value | string | trim }}'
{%- endmacro %}
