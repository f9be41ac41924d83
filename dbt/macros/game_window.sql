{#
    The game days an orchestrator builds (Dagster's daily partitions, nba_elt/orchestration):
    var('game_days_from') .. var('game_days_until'), YYYY-MM-DD, the end excluded. Unset (every
    `invoke refresh`): no window, and the facts read what was loaded since their last build.

    game_window()                true when a window is given
    in_game_window(column)       SQL: the column's date is in the window
    incremental_rows(relation)   the incremental facts' filter: the window's games when a
                                 window is given, else the rows loaded since the last build
                                 (macros/incremental_cutoff.sql)
#}

{% macro game_window() -%}
    {{ return(var('game_days_from', none) is not none and var('game_days_until', none) is not none) }}
{%- endmacro %}

{% macro in_game_window(column) -%}
    {{ column }} >= date '{{ var("game_days_from") }}' and {{ column }} < date '{{ var("game_days_until") }}'
{%- endmacro %}

{% macro incremental_rows(relation) -%}
    {%- if game_window() -%}
        {{ in_game_window('game_date') }}
    {%- else -%}
        _loaded_at > {{ incremental_cutoff(relation) }}
    {%- endif -%}
{%- endmacro %}
