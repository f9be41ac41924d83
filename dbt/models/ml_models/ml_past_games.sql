with

game_features as (

    select * from {{ ref('int_game_features') }}
    where is_final

),

final as (

    select
        game_id,
        game_date,
        season,
        home_team,
        away_team,
        home_games_played,
        away_games_played,
        home_win_pct,
        away_win_pct,
        home_last10_win_pct,
        away_last10_win_pct,
        home_avg_pts_for,
        home_avg_pts_against,
        away_avg_pts_for,
        away_avg_pts_against,
        home_avg_margin,
        away_avg_margin,
        home_days_rest,
        away_days_rest,
        home_is_back_to_back,
        away_is_back_to_back,
        home_pts,
        away_pts,
        case when home_pts > away_pts then 1 else 0 end as home_win

    from game_features

)

select * from final
