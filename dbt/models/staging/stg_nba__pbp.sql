with

source as (

    select * from {{ source('nba_source', 'pbp') }}

),

renamed as (

    select
        game_id,
        event_idx,
        game_date,
        period,
        clock_secs::numeric(6, 1) as clock_secs,
        team,
        description,
        away_score,
        home_score,
        points,
        _loaded_at

    from source

)

select * from renamed
