"""INSERT ... ON CONFLICT DO UPDATE on both databases (Postgres and SQLite spell it the same way)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def upsert(
    session: Session,
    entity: type[DeclarativeBase],
    values: dict[str, Any],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``values``, or update the ``update`` columns of the row that has the same ``conflict`` columns,
    in one statement: concurrent writers of one key never both see it missing and collide."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(entity).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(conflict), set_={name: statement.excluded[name] for name in update}
        )
    )
