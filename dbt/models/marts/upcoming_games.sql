{#
    Games on or after var('run_date') that are not final yet, with the model's prediction when
    there is one. A view: `invoke predict` writes ml_game_predictions AFTER the refresh, and the
    dashboard must see those predictions without another dbt build.
#}
{{ config(materialized='view') }}

with

games as (

    select * from {{ ref('fact_schedule_data') }}
    where game_date >= {{ run_date() }}
        and not is_final
        and game_status <> 'postponed'

),

pregame as (

    select * from {{ ref('int_pregame_team_features') }}

),

predictions as (

    select * from {{ ref('stg_ml__game_predictions') }}

),

teams as (

    select * from {{ ref('teams') }}

),

final as (

    select
        games.game_id,
        games.game_date,
        games.start_time,
        games.season,
        games.game_type,
        games.away_team || ' @ ' || games.home_team as matchup,
        games.away_team,
        away_teams.team_name as away_team_name,
        away_pregame.wins || '-' || away_pregame.losses as away_record,
        games.home_team,
        home_teams.team_name as home_team_name,
        home_pregame.wins || '-' || home_pregame.losses as home_record,
        games.arena,
        predictions.game_id is not null as has_prediction,
        predictions.home_win_prob,
        predictions.away_win_prob,
        case
            when predictions.home_win_prob >= 0.5 then games.home_team
            when predictions.home_win_prob < 0.5 then games.away_team
        end as predicted_winner,
        predictions.model_version,
        predictions.predicted_at

    from games
    left join pregame as away_pregame
        on games.game_id = away_pregame.game_id
        and games.away_team = away_pregame.team
    left join pregame as home_pregame
        on games.game_id = home_pregame.game_id
        and games.home_team = home_pregame.team
    left join teams as away_teams
        on games.away_team = away_teams.team
    left join teams as home_teams
        on games.home_team = home_teams.team
    left join predictions
        on games.game_id = predictions.game_id

)

select * from final
