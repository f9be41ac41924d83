with

source as (

    select * from {{ source('nba_source', 'boxscores') }}

),

crosswalk as (

    select * from {{ source('nba_source', 'player_crosswalk') }}

),

renamed as (

    select
        source.game_id,
        -- an NBA row ('nba:<personId>') takes the basketball-reference id once learned
        coalesce(crosswalk.bbref_player_id, source.player_id) as player_id,
        source.provider,
        source.game_date,
        source.player as player_name,
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
        -- the loader re-stamps the rows whose player it learns, so the source's stamp
        -- (and its index) is enough for the incremental facts
        source._loaded_at

    from source
    left join crosswalk
        on source.player_id = 'nba:' || crosswalk.nba_person_id

)

select * from renamed
