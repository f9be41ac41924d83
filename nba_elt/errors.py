"""Named errors. Each carries the process exit code the task layer should use."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_AVAILABLE = 75


class NbaEltError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = EXIT_FAILED


class BadInput(NbaEltError):
    """The caller asked for something impossible; nothing was written."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInput):
    """A setting is missing or malformed."""


class DataNotAvailable(NbaEltError):
    """The site has not published the data yet; nothing failed."""

    exit_code = EXIT_NOT_AVAILABLE


class SourceError(NbaEltError):
    """A page could not be fetched or understood."""


class SiteBlocked(SourceError):
    """The site answered 403: it is blocking this client. Stop the whole run."""


class PageNotFound(SourceError):
    """The site answered 404 for a page that should exist."""


class SchemaDrift(SourceError):
    """A page no longer has the table or data-stat columns the parser needs."""


class ConsistencyError(SourceError):
    """A cross-check inside a unit failed (e.g. team points != final score)."""


class LoadError(NbaEltError):
    """Writing to Postgres failed."""


class LocalDbError(NbaEltError):
    """The embedded local Postgres could not be started or reached."""


class ExternalError(NbaEltError):
    """A subprocess or remote service (dbt, AWS, Slack) failed."""


class DbtError(ExternalError):
    """dbt ended with an error or a failing test."""
