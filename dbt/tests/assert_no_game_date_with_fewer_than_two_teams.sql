{#
    A date with box scores has at least two teams, and no game has the same team on both
    sides: a date loaded with one team's rows only means a page was cut short. On an
    incremental refresh only the dates of the games touched since the last tested one
    (macros/tested_rows.sql), each date counted whole.
#}
with

boxscores as (

    select * from {{ ref('fact_boxscores') }}

),

tested_dates as (

    select distinct game_date
    from {{ tested_rows(ref('fact_boxscores'), 'tested_players') }}

),

boxscore_dates as (

    select boxscores.game_date, count(distinct boxscores.team) as teams
    from boxscores
    inner join tested_dates on boxscores.game_date = tested_dates.game_date
    group by boxscores.game_date

),

short_dates as (

    select game_date, teams, 'boxscores' as source_table
    from boxscore_dates
    where teams < 2

),

self_games as (

    select game_date, 1 as teams, 'schedule' as source_table
    from {{ tested_rows(ref('fact_schedule_data'), 'tested_games') }}
    where home_team = away_team

),

final as (

    select * from short_dates
    union all
    select * from self_games

)

select * from final
