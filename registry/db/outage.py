"""Which database errors mean "the database is unavailable right now": a 503 for the caller, not a bug."""

from __future__ import annotations

from sqlalchemy import exc


def database_unavailable(error: BaseException) -> bool:
    """Refused, dropped or timed-out connections, a statement past its deadline, a pool with nothing free,
    SQLite's write lock not coming free: none says anything about the request itself."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, exc.OperationalError)
    return False
