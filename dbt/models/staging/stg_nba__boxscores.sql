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
        source.team,
        source.opponent,
        source.is_home,
        source.outcome,
        source.seconds_played,
        source.fgm,
        source.fga,
        source.fg3m,
        source.fg3a,
        source.ftm,
        source.fta,
        source.oreb,
        source.dreb,
        source.reb,
        source.ast,
        source.stl,
        source.blk,
        source.tov,
        source.pf,
        source.pts,
        source.plus_minus,
        source.game_score::numeric(6, 1) as game_score,
        -- the loader re-stamps the rows whose player it learns, so the source's stamp
        -- (and its index) is enough for the incremental facts
        source._loaded_at

    from source
    left join crosswalk
        on source.player_id = 'nba:' || crosswalk.nba_person_id

)

select * from renamed
