"""The schema exists only through Alembic: upgrade and downgrade run, and the models agree with them."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import registry.models  # noqa: F401
from registry.db import migrate
from registry.db.base import Base
from tests.fixtures.services import create_postgres_database, drop_postgres_database


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_postgres_upgrade_downgrade_and_models_match() -> None:
    url = create_postgres_database()
    try:
        migrate.upgrade(url)
        assert _diff(url) == []
        assert {"models", "artifacts", "api_tokens"} <= _tables(url)
        migrate.downgrade(url, "base")
        assert _tables(url) <= {"alembic_version"}
        migrate.upgrade(url)
        assert _diff(url) == []
    finally:
        drop_postgres_database(url)


def test_sqlite_upgrade_creates_the_schema_the_models_describe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'patchhub.db'}"
    migrate.upgrade(url)
    assert _diff(url) == []
    migrate.downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
