with

source as (

    select * from {{ source('nba_source', 'schedule') }}

),

renamed as (

    select
        game_id,
        game_date,
        season,
        game_type,
        start_time,
        home_team,
        away_team,
        home_pts,
        away_pts,
        overtimes,
        status as game_status,
        attendance,
        arena,
        _loaded_at

    from source

)

select * from renamed
