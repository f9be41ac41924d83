with

source as (

    select * from {{ source('ml_models', 'ml_game_predictions') }}

),

renamed as (

    select
        game_id,
        game_date,
        home_team,
        away_team,
        home_win_prob,
        away_win_prob,
        model_version,
        predicted_at

    from source

)

select * from renamed
