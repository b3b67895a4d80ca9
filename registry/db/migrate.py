"""Run Alembic programmatically (``patchhub-server db upgrade``), wherever the package is installed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def code_heads() -> set[str]:
    """The revisions this code's schema is at (Alembic heads in migrations/versions)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def unknown_revisions(revisions: set[str]) -> set[str]:
    """Those of ``revisions`` that no revision in migrations/versions is (newer code wrote them)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    unknown = set()
    for revision in revisions:
        try:
            if script.get_revision(revision) is None:
                unknown.add(revision)
        except CommandError:
            unknown.add(revision)
    return unknown


def ensure_sqlite_directory(database_url: str) -> bool:
    """Make the directory of a SQLite file; True when it was created."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        directory = Path(url.database).parent
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            return True
    return False
