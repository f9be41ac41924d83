{#
    Incremental by game: every game with a row loaded since the last run is rebuilt whole
    (delete+insert on game_id), so a re-loaded game that lost a player row does not keep it.
#}
{{
    config(
        unique_key='game_id',
        indexes=[
            {'columns': ['game_id', 'player_id'], 'unique': True},
            {'columns': ['game_date']},
            {'columns': ['player_id']},
        ],
    )
}}

with

boxscores as (

    select * from {{ ref('stg_nba__boxscores') }}

),

{% if is_incremental() %}
changed_games as (

    -- filter on when rows were loaded, not on the game date: backfilled old dates come in
    -- reads the view itself, not the import CTE above: a CTE used twice is materialized
    -- whole by Postgres, while this way the source's _loaded_at index is used
    select distinct game_id
    from {{ ref('stg_nba__boxscores') }}
    where {{ incremental_rows(this) }}

),
{% endif %}

selected_rows as (

    select boxscores.*
    from boxscores
    {% if is_incremental() %}
    -- an array computed once: Postgres reads the source's (game_id, ...) key index for these
    -- games, where a join on its guess of how many games changed scanned the whole table
    where boxscores.game_id = any(array(select game_id from changed_games))
    {% endif %}

),

shooting as (

    select
        *,
        -- true shooting %: points per two shooting possessions (FGA + 0.44 FTA)
        case
            when coalesce(fga, 0) + 0.44 * coalesce(fta, 0) > 0
                then round(pts / (2 * (coalesce(fga, 0) + 0.44 * coalesce(fta, 0))), 3)
        end as game_ts_pct,
        -- John Hollinger's game score, when the page did not print one
        round(
            pts + 0.4 * fgm - 0.7 * fga - 0.4 * (fta - ftm) + 0.7 * oreb + 0.3 * dreb
            + stl + 0.7 * ast + 0.7 * blk - 0.4 * pf - tov,
            1
        ) as computed_game_score

    from selected_rows

),

final as (

    select
        game_id,
        player_id,
        game_date,
        {{ season_of('game_date') }} as season,
        player_name,
        team,
        opponent,
        is_home,
        outcome,
        seconds_played,
        round(seconds_played / 60.0, 1) as minutes_played,
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
        game_ts_pct,
        coalesce(game_score, computed_game_score) as game_score,
        _loaded_at

    from shooting

)

select * from final
