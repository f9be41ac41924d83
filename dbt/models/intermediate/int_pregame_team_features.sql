{#
    Point in time: every feature of a team's game comes only from the team's FINAL games on
    EARLIER dates (same season; days of rest look across seasons). The game itself, games later
    the same day and later games never count, so loading later games never changes a row.
#}
with

team_games as (

    select * from {{ ref('int_team_games') }}

),

final_games as (

    select * from team_games
    where is_final

),

form_after_game as (

    -- the team's season totals after each of its final games, numbered 1, 2, ...
    select
        team,
        season,
        row_number() over season_so_far as games_played,
        sum(win) over season_so_far as wins,
        sum(pts_for) over season_so_far as pts_for_total,
        sum(pts_against) over season_so_far as pts_against_total

    from final_games
    window season_so_far as (
        partition by team, season
        order by game_date, game_id
        rows between unbounded preceding and current row
    )

),

games_before as (

    -- how many final games the team played before this game's date, and its previous game
    select
        *,
        count(win) over earlier_dates_this_season as games_before,
        max(case when is_final then game_date end) over earlier_dates_any_season
            as previous_game_date

    from team_games
    window
        earlier_dates_this_season as (
            partition by team, season
            order by game_date
            range between unbounded preceding and interval '1 day' preceding
        ),
        earlier_dates_any_season as (
            partition by team
            order by game_date
            range between unbounded preceding and interval '1 day' preceding
        )

),

final as (

    select
        games_before.game_id,
        games_before.team,
        games_before.game_date,
        games_before.season,
        games_before.is_home,
        games_before.games_before as games_played,
        coalesce(form.wins, 0) as wins,
        games_before.games_before - coalesce(form.wins, 0) as losses,
        form.wins::double precision / nullif(form.games_played, 0) as win_pct,
        (form.wins - coalesce(form_10_games_earlier.wins, 0))::double precision
            / nullif(least(games_before.games_before, 10), 0) as last10_win_pct,
        form.pts_for_total::double precision / nullif(form.games_played, 0) as avg_pts_for,
        form.pts_against_total::double precision / nullif(form.games_played, 0)
            as avg_pts_against,
        (form.pts_for_total - form.pts_against_total)::double precision
            / nullif(form.games_played, 0) as avg_margin,
        games_before.previous_game_date,
        games_before.game_date - games_before.previous_game_date as days_rest,
        case
            when games_before.game_date - games_before.previous_game_date = 1 then 1
            else 0
        end as is_back_to_back

    from games_before
    left join form_after_game as form
        on games_before.team = form.team
        and games_before.season = form.season
        and games_before.games_before = form.games_played
    left join form_after_game as form_10_games_earlier
        on games_before.team = form_10_games_earlier.team
        and games_before.season = form_10_games_earlier.season
        and games_before.games_before - 10 = form_10_games_earlier.games_played

)

select * from final
