{#
    A date with box scores has at least two teams, and no game has the same team on both
    sides: a date loaded with one team's rows only means a page was cut short.
#}
with

boxscore_dates as (

    select game_date, count(distinct team) as teams
    from {{ ref('fact_boxscores') }}
    group by game_date

),

short_dates as (

    select game_date, teams, 'boxscores' as source_table
    from boxscore_dates
    where teams < 2

),

self_games as (

    select game_date, 1 as teams, 'schedule' as source_table
    from {{ ref('fact_schedule_data') }}
    where home_team = away_team

),

final as (

    select * from short_dates
    union all
    select * from self_games

)

select * from final
