with

game_features as (

    select * from {{ ref('int_game_features') }}
    where is_final

),

final as (

    select
        {{ ml_feature_columns() }},
        home_pts,
        away_pts,
        case when home_pts > away_pts then 1 else 0 end as home_win

    from game_features

)

select * from final
