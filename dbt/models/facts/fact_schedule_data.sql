{{
    config(
        unique_key='game_id',
        indexes=[
            {'columns': ['game_id'], 'unique': True},
            {'columns': ['game_date']},
        ],
    )
}}

with

schedule as (

    select * from {{ ref('stg_nba__schedule') }}
    {% if is_incremental() %}
    -- rows loaded since the last run, whatever their game date: a backfilled old date comes in
    where {{ incremental_rows(this) }}
    {% endif %}

),

final as (

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
        game_status,
        coalesce(
            game_status = 'final' and home_pts is not null and away_pts is not null,
            false
        ) as is_final,
        case
            when game_status <> 'final' then null
            when home_pts > away_pts then home_team
            when away_pts > home_pts then away_team
        end as winning_team,
        case
            when game_status <> 'final' then null
            when home_pts > away_pts then away_team
            when away_pts > home_pts then home_team
        end as losing_team,
        home_pts - away_pts as home_margin,
        attendance,
        arena,
        _loaded_at

    from schedule

)

select * from final
