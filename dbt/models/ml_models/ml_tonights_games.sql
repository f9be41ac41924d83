{# Games on var('run_date') (default: today, US Eastern), final or not, postponed ones left out. #}
with

game_features as (

    select * from {{ ref('int_game_features') }}
    where game_date = {{ run_date() }}

),

final as (

    select
        {{ ml_feature_columns() }}

    from game_features

)

select * from final
