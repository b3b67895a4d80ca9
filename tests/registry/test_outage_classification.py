"""Which database errors count as "unavailable" (503, and a job keeps its attempt) and which are bugs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from registry.db.outage import database_unavailable
from registry.db.session import make_engine
from registry.db.timeouts import DatabaseTimeouts


def _error(run: object) -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as caught:
        run()  # type: ignore[operator]
    return caught.value


def test_a_held_sqlite_write_lock_is_unavailability_but_a_missing_table_is_a_bug(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url, DatabaseTimeouts(statement_seconds=0.2))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = create_engine(url, isolation_level="AUTOCOMMIT").connect()
    holder.exec_driver_sql("BEGIN IMMEDIATE")  # another process holds the write lock
    try:

        def write() -> None:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))

        assert database_unavailable(_error(write))
    finally:
        holder.exec_driver_sql("ROLLBACK")
        holder.close()

    def typo() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    assert not database_unavailable(_error(typo))
    engine.dispose()


def test_a_refused_postgres_connection_is_unavailability() -> None:
    refused = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", DatabaseTimeouts(connect_seconds=2))
    assert database_unavailable(_error(lambda: refused.connect().close()))
    refused.dispose()
