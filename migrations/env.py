"""Alembic environment: the schema changes only through the revisions in migrations/versions."""

from __future__ import annotations

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

import registry.models  # noqa: F401  (registers every table on Base.metadata)
from registry.db.base import Base, UTCDateTime
from registry.db.session import make_engine
from registry.db.timeouts import DatabaseTimeouts

# A schema change may rewrite a large table: its statements get an hour, not a request's deadline.
MIGRATION_TIMEOUTS = DatabaseTimeouts(statement_seconds=3600)

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions spell UTCDateTime as the plain column type it stores, so they never import registry code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER via table copies
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url or "", MIGRATION_TIMEOUTS)
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()


main()
