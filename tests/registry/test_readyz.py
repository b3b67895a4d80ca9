"""/readyz names every dependency; it answers 503 only for what the API cannot serve without."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from registry.blobs import S3Options, create_bucket_if_missing, make_s3_client
from registry.db import migrate
from registry.db.problems import redacted_url
from registry.db.session import make_engine
from registry.resources.health.checks import check_database
from tests.fixtures.services import (
    backend_settings,
    create_postgres_database,
    drop_postgres_database,
    start_live_server,
)


def test_readyz_reports_a_missing_bucket_as_503_and_a_down_broker_as_degraded(
    tmp_path: Path, postgres_url: str, s3_endpoint: str
) -> None:
    bucket = f"ready-{uuid.uuid4().hex[:10]}"  # not created
    settings = backend_settings("postgres-s3", tmp_path, postgres_url, s3_endpoint).model_copy(
        update={"blob_url": f"s3://{bucket}/registry", "broker_url": "redis://127.0.0.1:1/0"}
    )
    live, server, thread = start_live_server(settings, "readyz")
    try:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            missing = client.get("/readyz")
            assert missing.status_code == 503
            body = missing.json()
            assert body["error"] == "not_ready"
            assert body["detail"] == (
                f"blob store: S3 bucket {bucket!r} does not exist; create it with: patchhub-server storage init"
            )
            by_name = {check["name"]: check for check in body["checks"]}
            assert by_name["database"]["ok"] and by_name["migrations"]["ok"]
            assert not by_name["broker"]["ok"] and by_name["broker"]["serves_without"]

            create_bucket_if_missing(make_s3_client(S3Options.from_settings(settings)), bucket)
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready"
            assert "is unreachable" in {c["name"]: c for c in ready.json()["checks"]}["broker"]["detail"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        live.runtime.close()


def test_urls_show_stars_only_where_a_password_is() -> None:
    assert redacted_url("postgresql+psycopg://patchhub@db/patchhub") == "postgresql+psycopg://patchhub@db/patchhub"
    assert (
        redacted_url("postgresql+psycopg://patchhub:s3cret@db/patchhub")
        == "postgresql+psycopg://patchhub:***@db/patchhub"
    )
    assert redacted_url("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"


def test_migrations_check_tells_behind_from_newer_than_the_code() -> None:
    url = create_postgres_database()
    engine = make_engine(url)
    try:
        migrate.upgrade(url, "0001")
        behind = {check.name: check for check in check_database(engine)}["migrations"]
        assert (
            not behind.ok and "the code needs" in behind.detail and "run: patchhub-server db upgrade" in behind.detail
        )
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
        newer = {check.name: check for check in check_database(engine)}["migrations"]
        assert not newer.ok and "the database is at f00dfeed, which this code does not know" in newer.detail
    finally:
        engine.dispose()
        drop_postgres_database(url)
