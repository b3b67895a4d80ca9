"""The retry policy, driven by scripted responses (httpx.MockTransport): what is retried, when, how long."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from patchhub import Client, InternalServerError, NotFoundError, RetryPolicy
from patchhub._http import ConnectionLost
from tests.fixtures.safetensors_files import tiny_model_bytes

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a handler, counting calls and recording the sleeps the client asks for."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.handler(request)

    def client(self, tmp_path: Path, max_retries: int = 3) -> Client:
        policy = RetryPolicy(max_retries=max_retries, initial_delay=0.5, max_delay=4.0, sleep=self.sleeps.append)
        return Client(
            base_url="http://registry.test",
            token="secret-token",
            progress=False,
            cache_dir=tmp_path,
            retry_policy=policy,
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
        )


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": kind, "detail": f"{kind} happened"}, headers=headers)


WHOAMI = {"token_name": "ci", "role": "write", "namespace": "team"}


def test_503_is_retried_after_the_retry_after_delay(tmp_path: Path) -> None:
    answers = [error(503, "not_ready", {"Retry-After": "2"}), httpx.Response(200, json=WHOAMI)]
    script = Script(lambda _request: answers.pop(0))
    assert script.client(tmp_path).whoami().token_name == "ci"
    assert len(script.calls) == 2
    assert script.sleeps == [2.0]
    assert script.calls[0].headers["Authorization"] == "Bearer secret-token"


def test_backoff_grows_with_jitter_and_gives_up_after_max_retries(tmp_path: Path) -> None:
    script = Script(lambda _request: error(502, "bad_gateway"))
    with pytest.raises(InternalServerError) as raised:
        script.client(tmp_path, max_retries=3).whoami()
    assert raised.value.status_code == 502 and raised.value.error == "bad_gateway"
    assert len(script.calls) == 4
    for delay, ceiling in zip(script.sleeps, [0.5, 1.0, 2.0], strict=True):
        assert 0.75 * ceiling <= delay <= ceiling


def test_connection_errors_are_retried_and_client_errors_are_not(tmp_path: Path) -> None:
    failures = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop(0)
        return httpx.Response(200, json=WHOAMI)

    script = Script(flaky)
    assert script.client(tmp_path).whoami().role == "write"
    assert len(script.calls) == 3

    missing = Script(lambda _request: error(404, "not_found", {"X-Request-ID": "req-42"}))
    with pytest.raises(NotFoundError) as raised:
        missing.client(tmp_path).models.get("team/nothing")
    assert len(missing.calls) == 1
    assert raised.value.request_id == "req-42"
    assert "req-42" in str(raised.value) and "not_found happened" in str(raised.value)


def artifact_json(sha: str, size: int) -> dict[str, object]:
    return {
        "id": "a" * 32,
        "model": "team/net",
        "version": 7,
        "kind": "base",
        "sha256": sha,
        "size": size,
        "created_at": datetime.now(timezone.utc).isoformat(),
    }


def test_a_lost_upload_answer_is_not_resent_when_the_version_landed(tmp_path: Path) -> None:
    data = tiny_model_bytes(seed=9)
    sha = hashlib.sha256(data).hexdigest()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            raise httpx.ReadError("connection closed before the response")
        assert request.url.path == "/v1/models/team/net/artifacts/latest"
        if not any(r.method == "PUT" for r in script.calls):  # before the upload: the model is empty
            return error(404, "not_found")
        return httpx.Response(200, json=artifact_json(sha, len(data)))

    script = Script(handler)
    artifact = script.client(tmp_path).artifacts.upload("team/net", data, metadata={"a": 1})
    assert artifact.version == 7
    puts = [r for r in script.calls if r.method == "PUT"]
    assert len(puts) == 1  # never resent blindly
    assert puts[0].url.params["sha256"] == sha
    assert json.loads(puts[0].headers["X-Patchhub-Metadata"]) == {"a": 1}


def test_an_upload_that_never_reached_the_service_is_resent_from_the_start(tmp_path: Path) -> None:
    data = tiny_model_bytes(seed=10)
    sha = hashlib.sha256(data).hexdigest()
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the model has no version yet
            return error(404, "not_found")
        bodies.append(request.read())
        if len(bodies) == 1:
            raise httpx.ConnectError("refused")
        if len(bodies) == 2:
            return error(503, "not_ready", {"Retry-After": "0"})
        return httpx.Response(201, json=artifact_json(sha, len(data)))

    source = tmp_path / "model.safetensors"
    source.write_bytes(data)
    script = Script(handler)
    assert script.client(tmp_path).artifacts.upload("team/net", source).sha256 == sha
    assert bodies == [data, data, data]  # the file was re-opened and sent whole each time
    assert script.sleeps[1] == 0.0


def test_a_lost_upload_answer_without_a_landed_version_surfaces(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            raise httpx.ReadError("connection closed before the response")
        return error(404, "not_found")

    script = Script(handler)
    with pytest.raises(ConnectionLost):
        script.client(tmp_path).artifacts.upload("team/net", tiny_model_bytes(seed=11))
    assert sum(r.method == "PUT" for r in script.calls) == 2  # checked, then resent once (not retried again)
