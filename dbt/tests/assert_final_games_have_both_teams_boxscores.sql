{#
    Every final game on a date that has box scores has player rows for both of its teams.
    A date with no box score rows at all is out of scope: a season of history may be loaded
    from schedule pages only (team results need nothing more), and `invoke gaps` lists those
    dates. What this catches is a partial backfill: a date loaded with a game or a team missing.
    On an incremental refresh only the games touched since the last tested one
    (macros/tested_rows.sql); their dates' box scores are looked up whole.
#}
with

games as (

    select * from {{ tested_rows(ref('fact_schedule_data'), 'tested_games') }}
    where is_final

),

boxscores as (

    select * from {{ ref('fact_boxscores') }}

),

expected_sides as (

    select games.game_id, games.game_date, games.home_team as team, 'home' as side
    from games
    where exists (select 1 from boxscores where boxscores.game_date = games.game_date)
    union all
    select games.game_id, games.game_date, games.away_team as team, 'away' as side
    from games
    where exists (select 1 from boxscores where boxscores.game_date = games.game_date)

),

final as (

    select expected_sides.*
    from expected_sides
    where not exists (
        select 1
        from boxscores
        where boxscores.game_id = expected_sides.game_id
            and boxscores.team = expected_sides.team
    )

)

select * from final
