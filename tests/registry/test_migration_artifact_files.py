"""Revision 0007: every existing artifact becomes a one-file version (its file row is model.safetensors), and
a downgrade refuses while a version holds a folder, changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from registry.db import migrate
from tests.fixtures.services import create_postgres_database, drop_postgres_database
from tests.registry.test_migrations import _artifact_with_histories, _rows


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    names = {column["name"] for column in inspect(engine).get_columns(table)}
    engine.dispose()
    return names


def _check_files_up_and_down(url: str) -> None:
    migrate.upgrade(url, "0005")
    _artifact_with_histories(url)  # artifacts a1, a2 (sha256 0..0, size 1)
    migrate.upgrade(url, "0007")
    one_file = [
        ("a1", "model.safetensors", "0" * 64, 1, "safetensors"),
        ("a2", "model.safetensors", "0" * 64, 1, "safetensors"),
    ]
    assert (
        _rows(url, "SELECT artifact_id, path, sha256, size, kind FROM artifact_files ORDER BY artifact_id") == one_file
    )
    assert _rows(url, "SELECT id, file_count FROM artifacts ORDER BY id") == [("a1", 1), ("a2", 1)]

    _execute(
        url,
        "UPDATE artifacts SET file_count = 2 WHERE id = 'a2'",
        "INSERT INTO artifact_files (artifact_id, path, sha256, size, kind, tensor_index, file_metadata) "
        f"VALUES ('a2', 'config.json', '{'1' * 64}', 2, 'other', '{{}}', '{{}}')",
    )
    with pytest.raises(RuntimeError, match="1 version\\(s\\) hold a model folder"):
        migrate.downgrade(url, "0006")
    assert _rows(url, "SELECT version_num FROM alembic_version") == [("0007",)]
    assert len(_rows(url, "SELECT path FROM artifact_files")) == 3

    _execute(url, "DELETE FROM artifact_files WHERE path = 'config.json'", "UPDATE artifacts SET file_count = 1")
    migrate.downgrade(url, "0006")
    assert "file_count" not in _columns(url, "artifacts")
    assert _rows(url, "SELECT id, sha256 FROM artifacts ORDER BY id") == [("a1", "0" * 64), ("a2", "0" * 64)]
    migrate.upgrade(url, "0007")
    assert (
        _rows(url, "SELECT artifact_id, path, sha256, size, kind FROM artifact_files ORDER BY artifact_id") == one_file
    )


def test_sqlite_artifacts_become_one_file_versions_and_back(tmp_path: Path) -> None:
    _check_files_up_and_down(f"sqlite:///{tmp_path / 'patchhub.db'}")


def test_postgres_artifacts_become_one_file_versions_and_back() -> None:
    url = create_postgres_database()
    try:
        _check_files_up_and_down(url)
    finally:
        drop_postgres_database(url)
