"""``patchhub-server db create``: make the database the URL names, on a server that is already running."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from registry.db.migrate import ensure_sqlite_directory
from registry.db.problems import is_missing_database

# Databases every Postgres server has, to connect to while ours does not exist yet.
_MAINTENANCE_DATABASES = ("postgres", "template1")


def create_database_if_missing(database_url: str) -> bool:
    """Create the database (Postgres) or the SQLite file's directory; False when it was already there."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return ensure_sqlite_directory(database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        raise ValueError(f"cannot create a database for {url.get_backend_name()} URLs; create it yourself")
    error: SQLAlchemyError | None = None
    for maintenance in _MAINTENANCE_DATABASES:
        engine = create_engine(url.set(database=maintenance), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                query = text("SELECT 1 FROM pg_database WHERE datname = :name")
                if conn.scalar(query, {"name": url.database}):
                    return False
                conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(url.database)}"))
                return True
        except SQLAlchemyError as exc:
            if not is_missing_database(exc):
                raise
            error = exc
        finally:
            engine.dispose()
    assert error is not None
    raise error
