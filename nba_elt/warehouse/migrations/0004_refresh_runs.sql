-- ops.refresh_runs: one row per `invoke refresh` (a dbt build). A plain `invoke refresh`
-- builds what the backfill ledger (ops.backfill_units) wrote since the start of the last
-- successful refresh; this table is how it knows when that was.
create table ops.refresh_runs (
    id            bigserial   not null primary key,
    status        text        not null default 'running'
        check (status in ('running', 'succeeded', 'failed')),
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    sources       text[],
    selection     text,
    full_refresh  boolean     not null default false,
    run_date      date,
    target        text,
    user_name     text,
    models        integer,
    tests         integer,
    failures      integer,
    summary       jsonb
);
create index refresh_runs_status_started_idx on ops.refresh_runs (status, started_at);
