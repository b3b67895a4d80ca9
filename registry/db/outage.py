"""Which database errors mean "the database is unavailable right now": a 503 for the caller, not a bug."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

# SQLite reports mistakes (a missing table, a syntax error) as OperationalError too; only these mean
# "not now": its write lock did not come free within busy_timeout, or its file cannot be reached.
SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database", "disk i/o error")


def database_unavailable(error: BaseException | None) -> bool:
    """Refused, dropped or timed-out connections, a statement past its deadline, a pool with nothing free,
    SQLite's write lock not coming free: none says anything about the request itself. Errors raised while
    handling such an error (``raise ... from``) count too."""
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(error, exc.DBAPIError) and (error.connection_invalidated or _operational(error)):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _operational(error: exc.DBAPIError) -> bool:
    if not isinstance(error, exc.OperationalError):
        return False
    if isinstance(error.orig, sqlite3.OperationalError):
        message = str(error.orig).lower()
        return any(reason in message for reason in SQLITE_UNAVAILABLE)
    return True  # Postgres: connection failures, cancelled statements, too many connections, shutdown
