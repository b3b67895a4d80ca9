"""Engine and session factory. The request owns the transaction: services only flush()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from registry.db.timeouts import DatabaseTimeouts, postgres_connect

_AFTER_COMMIT = "patchhub.after_commit"


def make_engine(url: str, timeouts: DatabaseTimeouts | None = None) -> Engine:
    timeouts = timeouts or DatabaseTimeouts()
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_timeout": timeouts.pool_seconds}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": timeouts.statement_seconds}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        busy_ms = int(timeouts.statement_seconds * 1000)
        event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, busy_ms))
    elif engine.dialect.driver == "psycopg":
        event.listen(engine, "do_connect", lambda _d, _r, cargs, cparams: postgres_connect(timeouts, cargs, cparams))
    return engine


def _sqlite_pragmas(dbapi_connection: Any, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit no longer holds the one write
    # lock through an fsync (4-6 ms here), which serialized two workers' claims, logs and finishes. The file
    # stays consistent; a power loss (not a process crash) may roll back the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    session = factory()
    try:
        yield session
        _commit(session)
    except BaseException:
        session.info.pop(_AFTER_COMMIT, None)
        session.rollback()
        raise
    finally:
        session.close()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the owner of ``session`` has committed what was done so far (never if it rolls
    back): for effects outside the database that must not happen before the rows are durable, like
    deleting staged blobs or enqueueing a job."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def end_read_phase(session: Session) -> None:
    """Commit what the transaction has done so far and hand its connection back to the pool, before a long
    wait that needs no database (bytes streaming in); the next statement opens a fresh transaction, which its
    owner still commits or rolls back at the end. Holding no transaction meanwhile means no pooled connection
    and no lock (SQLite's write lock, a token row's lock) is held by a slow client."""
    _commit(session)


def _commit(session: Session) -> None:
    session.commit()
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()
