{# Final games of the 7 days up to the latest game day on or before var('run_date'). #}
with

games as (

    select * from {{ ref('fact_schedule_data') }}
    where is_final
        and game_date <= {{ run_date() }}

),

teams as (

    select * from {{ ref('teams') }}

),

standings as (

    select * from {{ ref('standings') }}

),

latest_game_day as (

    select max(game_date) as game_date from games

),

recent as (

    select games.*
    from games
    cross join latest_game_day
    where games.game_date > latest_game_day.game_date - 7

),

final as (

    select
        recent.game_id,
        recent.game_date,
        recent.season,
        recent.game_type,
        recent.away_team || ' @ ' || recent.home_team as matchup,
        recent.away_team,
        away_teams.team_name as away_team_name,
        recent.away_pts,
        recent.home_team,
        home_teams.team_name as home_team_name,
        recent.home_pts,
        recent.overtimes,
        recent.winning_team,
        abs(recent.home_margin) as winning_margin,
        away_standings.wins || '-' || away_standings.losses as away_record,
        home_standings.wins || '-' || home_standings.losses as home_record,
        recent.attendance,
        recent.arena

    from recent
    left join teams as away_teams
        on recent.away_team = away_teams.team
    left join teams as home_teams
        on recent.home_team = home_teams.team
    left join standings as away_standings
        on recent.away_team = away_standings.team
        and recent.season = away_standings.season
        and recent.game_date = away_standings.standings_date
    left join standings as home_standings
        on recent.home_team = home_standings.team
        and recent.season = home_standings.season
        and recent.game_date = home_standings.standings_date

)

select * from final
