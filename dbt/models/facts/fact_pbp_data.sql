{#
    Incremental by game: a game whose events were re-loaded (nba_elt replaces all events of a
    game in one transaction) is rebuilt whole (delete+insert on game_id), so no stale event
    survives a re-load that produced fewer events.
#}
{{
    config(
        unique_key='game_id',
        indexes=[
            {'columns': ['game_id', 'event_idx'], 'unique': True},
            {'columns': ['game_date']},
        ],
    )
}}

with

pbp as (

    select * from {{ ref('stg_nba__pbp') }}

),

bbref_team_codes as (

    select * from {{ ref('bbref_team_codes') }}

),

{% if is_incremental() %}
changed_games as (

    -- filter on when rows were loaded, not on the game date: backfilled old dates come in
    -- reads the view itself, not the import CTE above: a CTE used twice is materialized
    -- whole by Postgres, while this way the source's _loaded_at index is used
    select distinct game_id
    from {{ ref('stg_nba__pbp') }}
    where {{ incremental_rows(this) }}

),
{% endif %}

-- not materialized: read three times below; Postgres would otherwise write all of a full
-- build's events to a temporary store first (1.4 s instead of 2.6 s for a season)
selected_events as not materialized (

    select pbp.*
    from pbp
    {% if is_incremental() %}
    -- an array computed once: Postgres reads the source's (game_id, ...) key index for these
    -- games, where a join on its guess of how many games changed scanned the whole table
    where pbp.game_id = any(array(select game_id from changed_games))
    {% endif %}

),

home_teams as (

    -- the game id ends with the home team's basketball-reference code (201801010BRK -> BKN)
    select
        games.game_id,
        bbref_team_codes.team as home_team

    from (select distinct game_id from selected_events) as games
    left join bbref_team_codes
        on right(games.game_id, 3) = bbref_team_codes.bbref_code

),

game_teams as (

    -- the away team is the other team that appears in the game's events
    select
        home_teams.game_id,
        home_teams.home_team,
        min(selected_events.team) filter (
            where selected_events.team <> home_teams.home_team
        ) as away_team

    from home_teams
    left join selected_events on home_teams.game_id = selected_events.game_id
    group by home_teams.game_id, home_teams.home_team

),

timed_events as (

    select
        *,
        -- regulation: four 12-minute periods; overtime: 5 minutes each
        case
            when period <= 4 then (4 - period) * 720 + clock_secs
            else clock_secs
        end as seconds_remaining_in_game,
        case
            when period <= 4 then (period - 1) * 720 + (720 - clock_secs)
            else 2880 + (period - 5) * 300 + (300 - clock_secs)
        end as seconds_elapsed

    from selected_events

),

final as (

    select
        timed_events.game_id,
        timed_events.event_idx,
        timed_events.game_date,
        {{ season_of('timed_events.game_date') }} as season,
        timed_events.period,
        timed_events.period > 4 as is_overtime,
        timed_events.clock_secs,
        timed_events.seconds_remaining_in_game,
        timed_events.seconds_elapsed,
        timed_events.team,
        timed_events.description,
        timed_events.points,
        timed_events.away_score,
        timed_events.home_score,
        game_teams.home_team,
        game_teams.away_team,
        case
            when timed_events.home_score > timed_events.away_score then 'home'
            when timed_events.away_score > timed_events.home_score then 'away'
            else 'tied'
        end as leading_side,
        case
            when timed_events.home_score > timed_events.away_score then game_teams.home_team
            when timed_events.away_score > timed_events.home_score then game_teams.away_team
        end as leading_team,
        abs(timed_events.home_score - timed_events.away_score) as lead_margin,
        timed_events.home_score - timed_events.away_score as home_margin,
        timed_events._loaded_at

    from timed_events
    left join game_teams on timed_events.game_id = game_teams.game_id

)

select * from final
