"""Property-based fuzzing of every route over the live OpenAPI (schemathesis), with an admin token.

The server is a real uvicorn server (in a thread) on Postgres + S3, the production shape, private to this
module. Every generated request must get an answer that the OpenAPI declares: no 5xx, a declared status code,
a declared content type, and a body matching the declared schema (errors included). Time is bounded by the
number of examples per route (about 40 s here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import (
    LiveServer,
    backend_settings,
    create_postgres_database,
    drop_postgres_database,
    start_live_server,
)

EXAMPLES_PER_ROUTE = int(os.environ.get("PATCHHUB_FUZZ_EXAMPLES", "5"))
# coverage: boundary values of every declared parameter (huge, negative, empty, wrong types); fuzzing: random.
PHASES = ["examples", "coverage", "fuzzing"]
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzz_target(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Postgres + S3 server of its own (the fuzzer's admin token revokes tokens and deletes models, which
    must not reach the servers other tests share), holding a namespace and a model with two versions so
    generated ids sometimes hit."""
    database = create_postgres_database()
    settings = backend_settings("postgres-s3", tmp_path_factory.mktemp("fuzz"), database, s3_endpoint)
    server, uvicorn_server, thread = start_live_server(settings, "postgres-s3")
    with server.client() as admin:
        admin.post("/v1/namespaces", json={"name": "fuzz"}).raise_for_status()
        admin.post("/v1/models", json={"namespace": "fuzz", "name": "net", "arch": "mlp"}).raise_for_status()
        for seed in (1, 2):
            admin.put(
                "/v1/models/fuzz/net/artifacts",
                params={"kind": "base"},
                content=tiny_model_bytes(seed=seed),
                headers={"Content-Type": "application/octet-stream"},
            ).raise_for_status()
    yield server
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    server.runtime.close()
    drop_postgres_database(database)


@pytest.fixture(scope="module")
def api_schema(fuzz_target: LiveServer) -> schemathesis.BaseSchema:
    config = SchemathesisConfig.discover()
    config.projects.get_default().phases.update(phases=PHASES)
    return schemathesis.openapi.from_url(f"{fuzz_target.url}/openapi.json", config=config, timeout=30)


@pytest.fixture(scope="module")
def fuzz_ids(fuzz_target: LiveServer) -> dict[str, int | str]:
    """Ids the test puts into generated requests: an open folder upload for the folder routes (a generated id
    only ever meets the 404), and a spare admin token revoked in place of the fuzzer's own (once that one is
    revoked, every later request is a 401 and nothing behind authentication is fuzzed)."""
    with fuzz_target.client() as admin:
        upload = admin.post("/v1/models/fuzz/net/folder-uploads", json={"kind": "base"}).raise_for_status()
        spare = admin.post("/v1/tokens", json={"name": "spare", "role": "admin"}).raise_for_status()
        own = [
            t["id"]
            for t in admin.get("/v1/tokens").json()
            if t["prefix"] and fuzz_target.admin_token.startswith(t["prefix"])
        ]
    assert len(own) == 1, own
    return {"upload_id": upload.json()["id"], "spare_token_id": spare.json()["id"], "own_token_id": own[0]}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_route_answers_5xx_or_off_schema(
    case: schemathesis.Case, fuzz_target: LiveServer, fuzz_ids: dict[str, int | str]
) -> None:
    parameters = dict(case.path_parameters or {})
    if case.path.startswith("/v1/folder-uploads/") and case.method != "DELETE":
        parameters["upload_id"] = fuzz_ids["upload_id"]
    if case.path == "/v1/tokens/{token_id}" and str(parameters.get("token_id")) == str(fuzz_ids["own_token_id"]):
        parameters["token_id"] = fuzz_ids["spare_token_id"]
    case.path_parameters = parameters
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_target.admin_token}"}, checks=CHECKS, timeout=30)
