with

games as (

    select * from {{ ref('fact_schedule_data') }}
    where game_status <> 'postponed'

),

home_side as (

    select
        game_id,
        game_date,
        season,
        game_type,
        is_final,
        home_team as team,
        away_team as opponent,
        true as is_home,
        home_pts as pts_for,
        away_pts as pts_against

    from games

),

away_side as (

    select
        game_id,
        game_date,
        season,
        game_type,
        is_final,
        away_team as team,
        home_team as opponent,
        false as is_home,
        away_pts as pts_for,
        home_pts as pts_against

    from games

),

team_games as (

    select * from home_side
    union all
    select * from away_side

),

final as (

    select
        game_id,
        game_date,
        season,
        game_type,
        is_final,
        team,
        opponent,
        is_home,
        case when is_final then pts_for end as pts_for,
        case when is_final then pts_against end as pts_against,
        case when is_final then pts_for - pts_against end as margin,
        case
            when not is_final then null
            when pts_for > pts_against then 1
            else 0
        end as win

    from team_games

)

select * from final
