"""Revision 0008: every existing composition gets the recipe it was registered with (so its readers keep
reading it), keyed as the service keys recipes; downgrade drops the recipes and keeps the compositions."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, inspect

from registry.db import migrate
from registry.models.composition import recipe_inputs
from tests.fixtures.services import create_postgres_database, drop_postgres_database
from tests.registry.test_migration_artifact_files import _execute
from tests.registry.test_migrations import _artifact_with_histories, _rows

PATCHES = [{"artifact": "a2", "scale": 0.5}]


def _check_recipes_up_and_down(url: str) -> None:
    migrate.upgrade(url, "0005")
    _artifact_with_histories(url)  # artifacts a1, a2
    migrate.upgrade(url, "0007")
    _execute(
        url,
        "INSERT INTO compositions (id, base_id, patches, size, created_by, created_at) "
        f"VALUES ('{'c' * 64}', 'a1', '{json.dumps(PATCHES)}', 1, 'w', '2026-12-01 12:00:00+00:00')",
    )
    migrate.upgrade(url, "0008")
    rows = _rows(url, "SELECT composition_id, inputs, base_id, patches, created_by FROM composition_recipes")
    assert [(c, i, b, json.loads(p) if isinstance(p, str) else p, w) for c, i, b, p, w in rows] == [
        ("c" * 64, recipe_inputs("a1", PATCHES), "a1", PATCHES, "w")
    ]
    migrate.downgrade(url, "0007")
    engine = create_engine(url)
    assert "composition_recipes" not in inspect(engine).get_table_names()
    engine.dispose()
    assert _rows(url, "SELECT id, base_id FROM compositions") == [("c" * 64, "a1")]
    migrate.upgrade(url, "0008")
    assert len(_rows(url, "SELECT inputs FROM composition_recipes")) == 1


def test_postgres_composition_recipes_up_and_down() -> None:
    url = create_postgres_database()
    try:
        _check_recipes_up_and_down(url)
    finally:
        drop_postgres_database(url)


def test_sqlite_composition_recipes_up_and_down(tmp_path: Path) -> None:
    _check_recipes_up_and_down(f"sqlite:///{tmp_path / 'patchhub.db'}")
