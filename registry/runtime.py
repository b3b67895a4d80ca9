"""Everything a running service holds: settings, database engine, session factory and blob store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from patchhub.safetensors_format import HeaderLimits
from registry.blobs import BlobStore, S3Options, open_blob_store
from registry.db.session import make_engine, make_session_factory
from registry.db.timeouts import DatabaseTimeouts
from registry.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: BlobStore

    @property
    def header_limits(self) -> HeaderLimits:
        return HeaderLimits(max_header_bytes=self.settings.max_header_bytes, max_tensors=self.settings.max_tensors)

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(settings: Settings) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    timeouts = DatabaseTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        statement_seconds=settings.database_statement_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
    )
    engine = make_engine(settings.resolved_database_url, timeouts)
    store = open_blob_store(settings.resolved_blob_url, s3=S3Options.from_settings(settings))
    return Runtime(settings=settings, engine=engine, session_factory=make_session_factory(engine), store=store)
