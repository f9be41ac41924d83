with

games as (

    select * from {{ ref('fact_schedule_data') }}
    where game_status <> 'postponed'

),

pregame as (

    select * from {{ ref('int_pregame_team_features') }}

),

final as (

    select
        games.game_id,
        games.game_date,
        games.season,
        games.home_team,
        games.away_team,
        home.games_played as home_games_played,
        away.games_played as away_games_played,
        home.win_pct as home_win_pct,
        away.win_pct as away_win_pct,
        home.last10_win_pct as home_last10_win_pct,
        away.last10_win_pct as away_last10_win_pct,
        home.avg_pts_for as home_avg_pts_for,
        home.avg_pts_against as home_avg_pts_against,
        away.avg_pts_for as away_avg_pts_for,
        away.avg_pts_against as away_avg_pts_against,
        home.avg_margin as home_avg_margin,
        away.avg_margin as away_avg_margin,
        home.days_rest as home_days_rest,
        away.days_rest as away_days_rest,
        home.is_back_to_back as home_is_back_to_back,
        away.is_back_to_back as away_is_back_to_back,
        games.game_type,
        games.game_status,
        games.is_final,
        games.home_pts,
        games.away_pts

    from games
    inner join pregame as home
        on games.game_id = home.game_id
        and games.home_team = home.team
    inner join pregame as away
        on games.game_id = away.game_id
        and games.away_team = away.team

)

select * from final
