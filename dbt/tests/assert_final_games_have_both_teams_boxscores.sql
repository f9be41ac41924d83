{#
    Every final game on a date that has box scores has player rows for both of its teams.
    A date with no box score rows at all is out of scope: a season of history may be loaded
    from schedule pages only (team results need nothing more), and `invoke gaps` lists those
    dates. What this catches is a partial backfill: a date loaded with a game or a team missing.
#}
with

games as (

    select * from {{ ref('fact_schedule_data') }}
    where is_final

),

boxscores as (

    select * from {{ ref('fact_boxscores') }}

),

dates_with_boxscores as (

    select distinct game_date from boxscores

),

teams_with_rows as (

    select game_id, team, count(*) as player_rows
    from boxscores
    group by game_id, team

),

expected_sides as (

    select games.game_id, games.game_date, games.home_team as team, 'home' as side
    from games
    inner join dates_with_boxscores on games.game_date = dates_with_boxscores.game_date
    union all
    select games.game_id, games.game_date, games.away_team as team, 'away' as side
    from games
    inner join dates_with_boxscores on games.game_date = dates_with_boxscores.game_date

),

final as (

    select expected_sides.*
    from expected_sides
    left join teams_with_rows
        on expected_sides.game_id = teams_with_rows.game_id
        and expected_sides.team = teams_with_rows.team
    where teams_with_rows.game_id is null

)

select * from final
