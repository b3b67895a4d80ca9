"""Property-based fuzzing of every route over the live OpenAPI (schemathesis), with an admin token.

The server is a real uvicorn process-in-thread on both backends. Every generated request must get an answer
that the OpenAPI declares: no 5xx, a declared status code, a declared content type, and a body matching the
declared schema (errors included). Time is bounded by the number of examples per route.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer

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
def fuzz_target(live_server: LiveServer) -> LiveServer:
    """Something to find: a namespace, a model with two versions and an alias, so generated ids sometimes hit."""
    with live_server.client() as admin:
        if admin.get("/v1/models/fuzz/net").status_code == 404:
            admin.post("/v1/namespaces", json={"name": "fuzz"})
            admin.post("/v1/models", json={"namespace": "fuzz", "name": "net", "arch": "mlp"}).raise_for_status()
            for seed in (1, 2):
                admin.put(
                    "/v1/models/fuzz/net/artifacts",
                    params={"kind": "base"},
                    content=tiny_model_bytes(seed=seed),
                    headers={"Content-Type": "application/octet-stream"},
                ).raise_for_status()
    return live_server


@pytest.fixture(scope="module")
def api_schema(fuzz_target: LiveServer) -> schemathesis.BaseSchema:
    config = SchemathesisConfig.discover()
    config.projects.get_default().phases.update(phases=PHASES)
    return schemathesis.openapi.from_url(f"{fuzz_target.url}/openapi.json", config=config, timeout=30)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.parametrize("live_server", ["postgres-s3"], indirect=True)  # the production shape; time-bounded
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_route_answers_5xx_or_off_schema(case: schemathesis.Case, fuzz_target: LiveServer) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_target.admin_token}"}, checks=CHECKS, timeout=30)
