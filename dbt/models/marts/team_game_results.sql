with

team_games as (

    select * from {{ ref('int_team_games') }}
    where is_final

),

pregame as (

    select * from {{ ref('int_pregame_team_features') }}

),

teams as (

    select * from {{ ref('teams') }}

),

final as (

    select
        team_games.game_id,
        team_games.game_date,
        team_games.season,
        team_games.game_type,
        team_games.team,
        teams.team_name,
        teams.conference,
        team_games.opponent,
        opponents.team_name as opponent_name,
        team_games.is_home,
        team_games.pts_for as points_for,
        team_games.pts_against as points_against,
        case when team_games.win = 1 then 'W' else 'L' end as outcome,
        team_games.margin,
        pregame.days_rest,
        pregame.is_back_to_back = 1 as is_back_to_back

    from team_games
    left join pregame
        on team_games.game_id = pregame.game_id
        and team_games.team = pregame.team
    left join teams
        on team_games.team = teams.team
    left join teams as opponents
        on team_games.opponent = opponents.team

)

select * from final
