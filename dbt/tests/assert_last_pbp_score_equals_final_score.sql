{#
    For every final game with play-by-play, the score after its last event is the final score.
    On an incremental refresh only the games touched since the last tested one
    (macros/tested_rows.sql).
#}
with

games as (

    select * from {{ tested_rows(ref('fact_schedule_data'), 'tested_games') }}
    where is_final

),

last_events as (

    select distinct on (game_id)
        game_id,
        away_score,
        home_score

    from {{ tested_rows(ref('fact_pbp_data'), 'tested_events') }}
    order by game_id, event_idx desc

),

final as (

    select
        games.game_id,
        games.away_pts,
        games.home_pts,
        last_events.away_score as last_event_away_score,
        last_events.home_score as last_event_home_score

    from games
    inner join last_events on games.game_id = last_events.game_id
    where last_events.away_score <> games.away_pts
        or last_events.home_score <> games.home_pts

)

select * from final
