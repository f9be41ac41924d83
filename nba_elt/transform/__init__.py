"""dbt: builds and the refresh ledger."""
