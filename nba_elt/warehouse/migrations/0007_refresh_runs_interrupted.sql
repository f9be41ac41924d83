-- A refresh stopped by Ctrl-C or SIGTERM (docker stop, an ECS task stopped) is recorded as
-- 'interrupted', as the backfill ledger records its runs, not as a failed dbt build.
alter table ops.refresh_runs drop constraint refresh_runs_status_check;
alter table ops.refresh_runs add constraint refresh_runs_status_check
    check (status in ('running', 'succeeded', 'failed', 'interrupted'));
