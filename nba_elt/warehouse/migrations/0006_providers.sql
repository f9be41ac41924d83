-- A second provider (issue 13): basketball-reference ('bbref') or the NBA's own JSON
-- ('nba'). Every raw row and every ledger unit says which provider it came from; a
-- unit's rows come from one provider (loading it from the other replaces them).
-- Existing rows came from basketball-reference: the default keeps them valid.
alter table nba_source.schedule
    add column provider text not null default 'bbref' check (provider in ('bbref', 'nba'));
alter table nba_source.boxscores
    add column provider text not null default 'bbref' check (provider in ('bbref', 'nba'));
alter table nba_source.pbp
    add column provider text not null default 'bbref' check (provider in ('bbref', 'nba'));
alter table ops.backfill_units
    add column provider text not null default 'bbref' check (provider in ('bbref', 'nba'));

-- The NBA's id of a game (0022200552), when known: `--games` accepts it, and the NBA
-- provider finds a game's box score and play-by-play by it.
alter table nba_source.schedule add column nba_game_id text;
create unique index if not exists schedule_nba_game_id_idx
    on nba_source.schedule (nba_game_id) where nba_game_id is not null;

-- NBA personId -> basketball-reference player id, learned whenever both providers have
-- loaded the same game (same team, same normalised name). NBA box score rows carry the
-- bbref id when known, else 'nba:<personId>'; staging maps the rest through this table.
create table if not exists nba_source.player_crosswalk (
    nba_person_id    text        not null primary key,
    bbref_player_id  text        not null,
    player           text        not null,
    team             text,
    learned_from     text        not null,  -- the game_id both providers loaded
    _loaded_at       timestamptz not null default now()
);
create index if not exists player_crosswalk_bbref_idx
    on nba_source.player_crosswalk (bbref_player_id);
