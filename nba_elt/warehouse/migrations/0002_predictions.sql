-- ml_models.ml_game_predictions: written by ml/ (ARCHITECTURE.md §3). The rest of the
-- ml_models schema is built by dbt; this table is owned here so that it survives
-- dbt --full-refresh and exists before the first prediction (marts join it).
create schema if not exists ml_models;

create table if not exists ml_models.ml_game_predictions (
    game_id        text          not null primary key,
    game_date      date          not null,
    home_team      text          not null,
    away_team      text          not null,
    home_win_prob  double precision not null check (home_win_prob between 0 and 1),
    away_win_prob  double precision not null check (away_win_prob between 0 and 1),
    model_version  text          not null,
    predicted_at   timestamptz   not null default now()
);
create index if not exists ml_game_predictions_date_idx on ml_models.ml_game_predictions (game_date);
