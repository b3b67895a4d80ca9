"""An operator's first steps on Postgres + S3 + Redis: what is missing is said in one sentence with the command
that fixes it (`db create`, `db upgrade`, `storage init`), never as a traceback, and `check` agrees."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.services import POSTGRES_ADMIN_URL, drop_postgres_database, free_port
from tests.fixtures.workers import RedisServer

REPO_ROOT = Path(__file__).resolve().parents[2]


def patchhub_server(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "registry.cli", *args]
    return subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def serve_until(env: dict[str, str], text: str, timeout: float = 60) -> str:
    """Start `serve`, read its output until ``text`` appears, stop it; returns the output so far."""
    command = [sys.executable, "-m", "registry.cli", "serve", "--port", str(free_port())]
    server = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert server.stdout is not None
    output = ""
    deadline = time.monotonic() + timeout
    try:
        while text not in output and time.monotonic() < deadline and (line := server.stdout.readline()):
            output += line.decode(errors="replace")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return output


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def operator_env(tmp_path: Path, s3_endpoint: str) -> Iterator[dict[str, str]]:
    """Settings naming a database and a bucket that do not exist yet, and a Redis that runs."""
    redis = RedisServer()
    redis.start()
    database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/patchhub_boot_{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHHUB_")}
    env.update(
        PATCHHUB_DATA_DIR=str(tmp_path / "data"),
        PATCHHUB_DATABASE_URL=database_url,
        PATCHHUB_BLOB_URL=f"s3://boot-{uuid.uuid4().hex[:10]}/registry",
        PATCHHUB_S3_ENDPOINT_URL=s3_endpoint,
        PATCHHUB_S3_ACCESS_KEY_ID="testing",
        PATCHHUB_S3_SECRET_ACCESS_KEY="testing",
        PATCHHUB_BROKER_URL=redis.url,
    )
    yield env
    redis.stop()
    drop_postgres_database(database_url)


def test_bootstrap_says_what_is_missing_and_the_commands_fix_it(operator_env: dict[str, str]) -> None:
    env = operator_env
    database = env["PATCHHUB_DATABASE_URL"].rsplit("/", 1)[1]

    missing_db = one_sentence(patchhub_server(env, "serve", "--port", "1"))
    assert f'database "{database}" does not exist' in missing_db
    assert "patchhub-server db create" in missing_db

    assert "database created" in patchhub_server(env, "db", "create").stdout
    assert "database exists" in patchhub_server(env, "db", "create").stdout  # a second run changes nothing

    no_schema = patchhub_server(env, "check", "--no-workers")
    assert no_schema.returncode == 1
    assert "FAIL  migrations: the database has no schema yet; run: patchhub-server db upgrade" in no_schema.stdout
    no_schema_command = one_sentence(patchhub_server(env, "namespace", "create", "early"))
    assert "patchhub-server db upgrade" in no_schema_command

    assert patchhub_server(env, "db", "upgrade").returncode == 0
    bucket = env["PATCHHUB_BLOB_URL"].split("/")[2]
    no_bucket = patchhub_server(env, "check", "--no-workers")
    assert no_bucket.returncode == 1
    assert f"FAIL  blob store: S3 bucket {bucket!r} does not exist; create it with: patchhub-server storage init" in (
        no_bucket.stdout
    )
    assert "ok    migrations" in no_bucket.stdout

    early = serve_until(env, "not ready: ")  # serves (the bucket may be on its way) but says what is missing
    assert f"not ready: S3 bucket {bucket!r} does not exist; create it with: patchhub-server storage init" in early

    assert f"S3 bucket {bucket!r} is ready" in patchhub_server(env, "storage", "init").stdout
    ready = patchhub_server(env, "check", "--no-workers")
    assert ready.returncode == 0, ready.stdout
    assert [line.split(":")[0] for line in ready.stdout.splitlines()] == [
        "ok    database",
        "ok    migrations",
        "ok    blob store",
        "ok    broker",
    ]

    workers = patchhub_server(env, "check")  # nobody consumes the queues yet
    assert workers.returncode == 1
    assert "FAIL  queue gpu: no worker is listening on queue gpu" in workers.stdout
    assert "FAIL  queue cpu: no worker is listening on queue cpu" in workers.stdout


def test_unreachable_broker_and_database_server_are_one_sentence_each(operator_env: dict[str, str]) -> None:
    env = {
        **operator_env,
        "PATCHHUB_BROKER_URL": "redis://127.0.0.1:1/0",
        "PATCHHUB_DATABASE_URL": "postgresql+psycopg://patchhub:hunter2@127.0.0.1:1/patchhub",
    }
    result = patchhub_server(env, "check")
    assert result.returncode == 1
    assert "FAIL  database: the database server at 127.0.0.1:1 is unreachable: Connection refused" in result.stdout
    assert "FAIL  broker: the broker at redis://127.0.0.1:1/0 is unreachable" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    upgrade = one_sentence(patchhub_server(env, "db", "upgrade"))
    assert "127.0.0.1:1 is unreachable" in upgrade
