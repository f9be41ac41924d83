{# Regular season only: play-in and playoff games do not change the standings. #}
with

results as (

    select * from {{ ref('team_game_results') }}
    where game_type = 'regular'

),

teams as (

    select * from {{ ref('teams') }}

),

numbered_results as (

    -- the team's record after each of its games
    select
        team,
        season,
        game_date,
        row_number() over season_so_far as games_played,
        sum(case when outcome = 'W' then 1 else 0 end) over season_so_far as wins,
        sum(case when outcome = 'W' then 1 else 0 end) over last_10_games as last_10_wins,
        count(*) over last_10_games as last_10_games

    from results
    window
        season_so_far as (
            partition by team, season order by game_date, game_id
            rows between unbounded preceding and current row
        ),
        last_10_games as (
            partition by team, season order by game_date, game_id
            rows between 9 preceding and current row
        )

),

season_dates as (

    select distinct season, game_date as standings_date
    from results

),

season_teams as (

    select distinct season, team
    from results

),

date_spine as (

    -- every team on every date of its season that had a game, played or not
    select
        season_teams.season,
        season_teams.team,
        season_dates.standings_date,
        count(results.game_id) over (
            partition by season_teams.team, season_teams.season
            order by season_dates.standings_date
        ) as games_played

    from season_teams
    inner join season_dates
        on season_teams.season = season_dates.season
    left join results
        on season_teams.team = results.team
        and season_teams.season = results.season
        and season_dates.standings_date = results.game_date

),

records as (

    select
        date_spine.season,
        date_spine.standings_date,
        date_spine.team,
        teams.team_name,
        teams.conference,
        teams.division,
        date_spine.games_played,
        coalesce(numbered_results.wins, 0) as wins,
        date_spine.games_played - coalesce(numbered_results.wins, 0) as losses,
        round(coalesce(numbered_results.wins, 0)::numeric / nullif(date_spine.games_played, 0), 3)
            as win_pct,
        coalesce(numbered_results.last_10_wins, 0) as last_10_wins,
        coalesce(numbered_results.last_10_games - numbered_results.last_10_wins, 0)
            as last_10_losses

    from date_spine
    left join numbered_results
        on date_spine.team = numbered_results.team
        and date_spine.season = numbered_results.season
        and date_spine.games_played = numbered_results.games_played
    left join teams
        on date_spine.team = teams.team

),

final as (

    select
        season,
        standings_date,
        team,
        team_name,
        conference,
        division,
        games_played,
        wins,
        losses,
        win_pct,
        last_10_wins || '-' || last_10_losses as last_10,
        last_10_wins,
        last_10_losses,
        rank() over same_conference_day as conference_rank,
        (
            (
                max(wins - losses) over (partition by season, standings_date, conference)
                - (wins - losses)
            ) / 2.0
        )::numeric(4, 1) as games_behind

    from records
    window same_conference_day as (
        partition by season, standings_date, conference
        order by win_pct desc nulls last, wins desc
    )

)

select * from final
