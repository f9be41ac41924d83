"""Postgres: engine and URLs, migrations, the COPY loader, the embedded local server."""
