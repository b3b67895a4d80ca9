"""Which database errors mean "the database is unavailable right now": a 503 for the caller, not a bug."""

from __future__ import annotations

from sqlalchemy import exc


def database_unavailable(error: BaseException | None) -> bool:
    """Refused, dropped or timed-out connections, a statement past its deadline, a pool with nothing free,
    SQLite's write lock not coming free: none says anything about the request itself. Errors raised while
    handling such an error (``raise ... from``) count too."""
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(error, exc.DBAPIError) and (
            error.connection_invalidated or isinstance(error, exc.OperationalError)
        ):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False
