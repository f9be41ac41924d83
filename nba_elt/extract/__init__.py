"""Getting pages: the polite HTTP client, the raw page archive, HTML helpers."""
