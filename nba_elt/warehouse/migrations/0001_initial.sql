-- nba_source: raw data written only by nba_elt (ARCHITECTURE.md §3)
create schema if not exists nba_source;
create schema if not exists ops;

create table nba_source.schedule (
    game_id     text        not null primary key,
    game_date   date        not null,
    season      integer     not null,
    start_time  text,
    away_team   text        not null,
    home_team   text        not null,
    away_pts    integer,
    home_pts    integer,
    overtimes   integer     not null default 0,
    status      text        not null default 'scheduled'
        check (status in ('scheduled', 'final', 'postponed')),
    attendance  integer,
    arena       text,
    game_type   text        not null default 'regular'
        check (game_type in ('regular', 'playin', 'playoffs')),
    _loaded_at  timestamptz not null default now()
);
create index schedule_game_date_idx on nba_source.schedule (game_date);

create table nba_source.boxscores (
    game_id        text        not null,
    player_id      text        not null,
    game_date      date        not null,
    player         text        not null,
    team           text        not null,
    opponent       text        not null,
    is_home        boolean     not null,
    outcome        text,
    seconds_played integer,
    fgm            integer,
    fga            integer,
    fg3m           integer,
    fg3a           integer,
    ftm            integer,
    fta            integer,
    oreb           integer,
    dreb           integer,
    reb            integer,
    ast            integer,
    stl            integer,
    blk            integer,
    tov            integer,
    pf             integer,
    pts            integer,
    plus_minus     integer,
    game_score     numeric(6, 1),
    _loaded_at     timestamptz not null default now(),
    primary key (game_id, player_id)
);
create index boxscores_game_date_idx on nba_source.boxscores (game_date);

create table nba_source.pbp (
    game_id      text        not null,
    event_idx    integer     not null,
    game_date    date        not null,
    period       integer     not null,
    clock_secs   numeric(6, 1) not null,
    team         text,
    description  text        not null,
    away_score   integer     not null,
    home_score   integer     not null,
    points       integer     not null default 0,
    _loaded_at   timestamptz not null default now(),
    primary key (game_id, event_idx)
);
create index pbp_game_date_idx on nba_source.pbp (game_date);

create table nba_source.feature_flags (
    flag        text        not null primary key,
    is_enabled  boolean     not null default true,
    description text,
    _loaded_at  timestamptz not null default now()
);
insert into nba_source.feature_flags (flag, is_enabled, description) values
    ('schedule', true, 'season schedule and final scores (month pages)'),
    ('boxscores', true, 'player box scores (daily leaders page)'),
    ('pbp', true, 'play-by-play of every game');

-- ops: the backfill ledger
create table ops.backfill_runs (
    id           bigserial   not null primary key,
    args         jsonb       not null,
    status       text        not null default 'running'
        check (status in ('running', 'succeeded', 'failed', 'not_available', 'interrupted')),
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    user_name    text        not null,
    git_sha      text,
    resumed_from bigint references ops.backfill_runs (id)
);

create table ops.backfill_units (
    run_id        bigint      not null references ops.backfill_runs (id) on delete cascade,
    source        text        not null,
    unit_key      text        not null,
    game_date     date,
    status        text        not null default 'pending'
        check (status in ('pending', 'running', 'succeeded', 'failed', 'not_available', 'skipped')),
    rows_written  integer     not null default 0,
    started_at    timestamptz,
    finished_at   timestamptz,
    error         text,
    primary key (run_id, source, unit_key)
);
