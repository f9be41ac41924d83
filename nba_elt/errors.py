"""Named errors. Each carries the process exit code the task layer should use."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_AVAILABLE = 75


class NbaEltError(Exception):
    """Base of every error this package raises on purpose.

    Two markers say what to do with it (as dlt's transient / terminal exceptions do):
    ``transient``: trying the same thing again later may work (a 5xx, a timeout);
    ``terminal``: the whole run must stop now, every later unit would fail the same way
    or make things worse (403, a refused Retry-After, repeated 429, no network, database
    lost). The runner stops on ``terminal``, whatever the class.
    """

    exit_code = EXIT_FAILED
    transient = False
    terminal = False
    # how a run stopped by this error says why ("the site answered 403"); None: the message
    stop_summary: str | None = None


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


class TransientSourceError(SourceError):
    """The site kept failing (5xx, timeouts, a cut connection); a later run may work."""

    transient = True


class DeadlineExceeded(TransientSourceError):
    """A request took longer than NBA_ELT_REQUEST_DEADLINE (body included): not retried,
    and no fallback page is asked of a site that slow."""


class SiteBlocked(SourceError):
    """The site answered 403: it is blocking this client. Stop the whole run."""

    terminal = True
    stop_summary = "the site answered 403"


class RateLimited(SiteBlocked):
    """The site answered 429 twice in a row: treated like a 403, the run stops."""

    stop_summary = "the site answered 429 twice in a row"


class RetryLater(SourceError):
    """The site asked (Retry-After) for a longer wait than NBA_ELT_RETRY_AFTER_CAP allows.

    The run stops now with exit 75 and says when to resume, instead of hammering the site.
    """

    exit_code = EXIT_NOT_AVAILABLE
    terminal = True
    transient = True


class SiteUnreachable(SourceError):
    """The site's host cannot be reached at all (name resolution failed, connection
    refused): a dead network, not a busy site. The run stops at once."""

    terminal = True


class PageTooLarge(SourceError):
    """A response is bigger than NBA_ELT_MAX_PAGE_MB."""


class BadEncoding(SourceError):
    """A page is not valid UTF-8."""


class PageNotFound(SourceError):
    """The site answered 404 for a page that should exist."""


class SchemaDrift(SourceError):
    """A page no longer has the table or data-stat columns the parser needs."""


class ConsistencyError(SourceError):
    """A cross-check inside a unit failed (e.g. team points != final score)."""


class LoadError(NbaEltError):
    """Writing to Postgres failed."""


class DatabaseLost(LoadError):
    """The warehouse went away mid-run (connection closed, server gone): stop the run."""

    terminal = True
    transient = True


class LocalDbError(NbaEltError):
    """The embedded local Postgres could not be started or reached."""


class ExternalError(NbaEltError):
    """A subprocess or remote service (dbt, AWS, Slack) failed."""


class DbtError(ExternalError):
    """dbt ended with an error or a failing test."""


class ArchiveError(ExternalError):
    """The raw archive cannot be written (a path that is a file, a full disk, no access):
    every later unit would fail the same way, so the run stops."""

    terminal = True
