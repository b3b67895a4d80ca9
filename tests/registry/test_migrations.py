"""The schema exists only through Alembic: upgrade and downgrade run, and the models agree with them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, inspect, text

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


HISTORY = [{"job": "j1", "dataset": "digits", "split": "test", "top1": 0.9}, {"job": "j2", "top1": 0.95}]
UVA_HISTORY = [{"job": "j3", "dataset": "pusht", "success_rate": 0.5}]


def _artifact_with_histories(url: str) -> None:
    """At 0005: one artifact whose metadata holds both histories beside other keys, and one without any."""
    engine = create_engine(url)
    now = datetime.now(timezone.utc)
    table = MetaData()
    table.reflect(engine, only=["namespaces", "models", "artifacts"])
    namespaces, models, artifacts = (table.tables[n] for n in ("namespaces", "models", "artifacts"))
    file = {"sha256": "0" * 64, "size": 1, "parameter_count": 1, "tensor_count": 1, "tensor_index": {}}
    with engine.begin() as conn:
        conn.execute(insert(namespaces).values(id=1, name="ns", description="", created_at=now))
        conn.execute(
            insert(models).values(
                id=1, namespace_id=1, name="m", arch="mlp", arch_config={}, description="", tags=[], created_at=now
            )
        )
        meta = {"evaluations": HISTORY, "uva_evaluations": UVA_HISTORY, "robustness": {"mean_top1": 0.5}, "bits": 8}
        for artifact_id, version, artifact_meta in (("a1", 1, meta), ("a2", 2, {"bits": 4})):
            conn.execute(
                insert(artifacts).values(
                    id=artifact_id,
                    model_id=1,
                    version=version,
                    kind="base",
                    file_metadata={},
                    meta=artifact_meta,
                    created_at=now,
                    created_by="",
                    **file,
                )
            )
    engine.dispose()


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text(query))]
    engine.dispose()
    return rows


def _meta(url: str) -> dict[str, Any]:
    decoded = {}
    for artifact_id, meta in _rows(url, "SELECT id, meta FROM artifacts ORDER BY id"):
        decoded[artifact_id] = json.loads(meta) if isinstance(meta, str) else meta
    return decoded


def _check_histories_move_to_rows_and_back(url: str) -> None:
    migrate.upgrade(url, "0005")
    _artifact_with_histories(url)
    before = _meta(url)
    migrate.upgrade(url, "0006")
    rows = _rows(url, "SELECT artifact_id, history, record FROM evaluations ORDER BY id")
    records = [(a, h, json.loads(r) if isinstance(r, str) else r) for a, h, r in rows]
    assert records == [
        ("a1", "evaluations", HISTORY[0]),
        ("a1", "evaluations", HISTORY[1]),
        ("a1", "uva_evaluations", UVA_HISTORY[0]),
    ]
    assert _meta(url) == {"a1": {"robustness": {"mean_top1": 0.5}, "bits": 8}, "a2": {"bits": 4}}
    migrate.downgrade(url, "0005")
    assert _meta(url) == before


def test_postgres_evaluation_histories_move_to_rows_and_back() -> None:
    url = create_postgres_database()
    try:
        _check_histories_move_to_rows_and_back(url)
    finally:
        drop_postgres_database(url)


def test_sqlite_evaluation_histories_move_to_rows_and_back(tmp_path: Path) -> None:
    _check_histories_move_to_rows_and_back(f"sqlite:///{tmp_path / 'patchhub.db'}")
