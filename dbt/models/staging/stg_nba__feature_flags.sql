with

source as (

    select * from {{ source('nba_source', 'feature_flags') }}

),

renamed as (

    select
        flag as source_name,
        is_enabled,
        description,
        _loaded_at

    from source

)

select * from renamed
