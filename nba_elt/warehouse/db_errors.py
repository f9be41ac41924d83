"""Database exceptions as the pipeline's named errors: the one mapping every module uses.

Kept apart from db.py (the engine) so that the loaders can use it without importing the
engine module, which imports the migrations, which import the loaders.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from nba_elt.config import scrub
from nba_elt.errors import DatabaseLost, LoadError


def _first_line(exc: BaseException | None, default: str) -> str:
    lines = str(exc if exc is not None else "").strip().splitlines()
    return scrub(lines[0]) if lines else default


def database_error(exc: Exception, where: str) -> LoadError:
    """A database exception (SQLAlchemy's or the driver's) as a LoadError; DatabaseLost
    (terminal) when the connection or the server is gone, not when one statement failed
    or ran past its timeout. The one mapping of database errors: every module uses it."""
    import psycopg2

    orig = getattr(exc, "orig", None) or (exc if isinstance(exc, psycopg2.Error) else None)
    first = _first_line(orig if orig is not None else exc, type(exc).__name__)

    timed_out = isinstance(orig, psycopg2.errors.QueryCanceled)
    lost = getattr(exc, "connection_invalidated", False) or (
        isinstance(orig, psycopg2.OperationalError) and not timed_out
    )
    if isinstance(exc, OperationalError) and orig is None:
        lost = True
    if lost:
        return DatabaseLost(f"{where}: the warehouse connection was lost ({first})")
    if timed_out:
        return LoadError(
            f"{where}: a statement ran past NBA_ELT_DB_STATEMENT_TIMEOUT and was cancelled"
        )
    return LoadError(f"{where}: database error: {first}")


def cannot_connect(exc: OperationalError, shown: str) -> LoadError:
    """The warehouse at ``shown`` (its URL, password hidden) did not accept a connection."""
    reason = _first_line(exc.orig, "no answer")
    return LoadError(f"cannot connect to the warehouse at {shown}: {reason}")
