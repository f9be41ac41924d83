with

source as (

    select * from {{ source('nba_source', 'boxscores') }}

),

renamed as (

    select
        game_id,
        player_id,
        game_date,
        player as player_name,
        team,
        opponent,
        is_home,
        outcome,
        seconds_played,
        fgm,
        fga,
        fg3m,
        fg3a,
        ftm,
        fta,
        oreb,
        dreb,
        reb,
        ast,
        stl,
        blk,
        tov,
        pf,
        pts,
        plus_minus,
        game_score::numeric(6, 1) as game_score,
        _loaded_at

    from source

)

select * from renamed
