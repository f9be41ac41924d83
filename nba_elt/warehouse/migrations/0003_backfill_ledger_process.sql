-- The backfill ledger records which process runs a backfill, so that a run left
-- 'running' by a process that died (kill -9, a lost container) can be recognised and
-- marked 'interrupted' by the next backfill. While a run is alive it also holds a
-- session-level advisory lock on its id (see nba_elt/ledger.py): the lock is the proof
-- of life, pid/host are for the operator reading the ledger.
alter table ops.backfill_runs add column pid integer;
alter table ops.backfill_runs add column host text;
alter table ops.backfill_runs add column message text;

create index backfill_units_unit_idx on ops.backfill_units (source, unit_key);
create index backfill_runs_status_idx on ops.backfill_runs (status);
