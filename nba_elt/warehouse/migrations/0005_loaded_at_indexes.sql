-- The incremental dbt facts read the source rows loaded since their last run
-- (where _loaded_at >= ...): an index keeps that a small index scan on a big table.
create index if not exists schedule_loaded_at_idx on nba_source.schedule (_loaded_at);
create index if not exists boxscores_loaded_at_idx on nba_source.boxscores (_loaded_at);
create index if not exists pbp_loaded_at_idx on nba_source.pbp (_loaded_at);
