"""On SQLite a commit does not wait for the disk (WAL, synchronous=NORMAL): two workers' job updates would
otherwise queue behind each other's fsync on the one write lock. Foreign keys stay enforced."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from registry.db.session import make_engine


def test_sqlite_connections_use_wal_without_a_sync_per_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
