{#
    What the data tests of the facts look at. A full refresh, or dbt run by hand: every row.
    An incremental `invoke refresh` by source: only the games touched since its rows were last
    tested. A build of a window of game days (Dagster, macros/game_window.sql): those days.
    The refresh sets NBA_ELT_DBT_TESTS_SINCE to the start of the last successful
    refresh that covered the sources (nba_elt/transform/ledger.py); a game is in scope when a
    row of it in nba_source (schedule, boxscores or pbp) was loaded after that, less
    var('incremental_lookback_minutes'), the same margin the facts re-read with. A failed
    refresh moves nothing: the next one tests its games again.

    The variable is read only when dbt executes (`execute`), as macros/run_date.sql does, so
    a new value each day keeps partial parsing.

    tests_since()             the timestamp, or '' when every row is tested
    tested_games()            SQL: the game_id of every game in scope
    tested_rows(relation)     the relation itself, or a subquery of its games in scope
    get_where_subquery(rel)   dbt's hook for generic tests (`where` config kept), scoping the facts
#}

{% macro tests_since() -%}
    {%- if execute and not flags.FULL_REFRESH -%}
        {{ return(env_var('NBA_ELT_DBT_TESTS_SINCE', '') | trim) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro tested_games() -%}
    {%- set since -%}
        '{{ tests_since() }}'::timestamptz
        - interval '{{ var("incremental_lookback_minutes") | int }} minutes'
    {%- endset -%}
    {#- the sources' _loaded_at indexes (nba_elt migration 0005) make this a few index reads -#}
    {%- for table in ['schedule', 'boxscores', 'pbp'] %}
    select game_id from {{ source('nba_source', table) }} where _loaded_at > {{ since }}
    {%- if not loop.last %} union{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro tested_rows(relation, alias='tested_rows') -%}
    {%- if game_window() and relation.identifier in ['fact_schedule_data', 'fact_boxscores', 'fact_pbp_data'] -%}
        {#- a Dagster build of some game days tests those days (macros/game_window.sql) -#}
        (select * from {{ relation }} where {{ in_game_window('game_date') }}) as {{ alias }}
    {%- elif tests_since() and relation.identifier in ['fact_schedule_data', 'fact_boxscores', 'fact_pbp_data'] -%}
        {#- an array, computed once: Postgres then reads the relation's game_id index -#}
        (select * from {{ relation }} where game_id = any(array({{ tested_games() }}))) as {{ alias }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scoped = tested_rows(relation, 'dbt_scoped') -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ scoped ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(scoped) -%}
{%- endmacro %}
