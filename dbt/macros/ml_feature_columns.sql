{#
    The feature columns ml/ reads from ml_past_games and ml_tonights_games (the contract in
    docs/internals.md; ml/features.py checks it). One list, so the two tables cannot drift.
#}
{% macro ml_feature_columns() %}
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
        away_is_back_to_back
{%- endmacro %}
