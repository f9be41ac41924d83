{#
    For every final game with box scores, each team's points in the schedule equal the sum of
    its players' points. A changed or missing player line shows up here. On an incremental
    refresh only the games touched since the last tested one (macros/tested_rows.sql).
#}
with

games as (

    select * from {{ tested_rows(ref('fact_schedule_data'), 'tested_games') }}
    where is_final

),

player_points as (

    select game_id, team, sum(pts) as player_pts
    from {{ tested_rows(ref('fact_boxscores'), 'tested_players') }}
    group by game_id, team

),

team_points as (

    select game_id, home_team as team, home_pts as team_pts from games
    union all
    select game_id, away_team as team, away_pts as team_pts from games

),

final as (

    select
        team_points.game_id,
        team_points.team,
        team_points.team_pts,
        player_points.player_pts

    from team_points
    inner join player_points
        on team_points.game_id = player_points.game_id
        and team_points.team = player_points.team
    where player_points.player_pts is distinct from team_points.team_pts

)

select * from final
