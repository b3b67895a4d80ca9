"""``client.jobs`` against the real API, Redis broker and (where a job must run) a worker process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from patchhub import (
    Client,
    ConflictError,
    InvalidError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    PatchhubError,
    RetryPolicy,
)
from patchhub.client import DEFAULT_TIMEOUT
from tests.client.conftest import RecordingTransport
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.workers import WorkerProcess
from tests.workers.jobs.job_helpers import upload_untrained_checkpoint

JobsClientFactory = Callable[..., Client]


class LosesFirstJobAnswer(RecordingTransport):
    """Delivers the first job submission to the service, then drops the connection before the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/jobs" and not self.dropped:
            self.dropped = True
            response.close()
            raise httpx.ReadError("connection reset after the request was sent")
        return response


@pytest.fixture
def jobs_client(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, tmp_path: Path
) -> Iterator[JobsClientFactory]:
    clients: list[Client] = []

    def make(**overrides: object) -> Client:
        options: dict[str, object] = {
            "base_url": jobs_server.url,
            "token": jobs_namespace.write_token,
            "progress": False,
            "cache_dir": tmp_path / "cache",
        }
        client = Client(**{**options, **overrides})  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:  # leave no queued job behind for a later test's worker
        for job in client.jobs.list(namespace=jobs_namespace.name, status="queued"):
            client.jobs.cancel(job.id)
        client.close()


@pytest.fixture
def checkpoint(jobs_server: LiveServer, jobs_namespace: NamespaceAccess) -> str:
    with jobs_server.client(jobs_namespace.write_token) as http:
        return upload_untrained_checkpoint(http, jobs_namespace.name)


def evaluate_params(artifact: str) -> dict[str, object]:
    return {"artifact": artifact, "image_size": 8, "device": "cpu"}


def test_submit_is_idempotent_and_retries_never_make_a_second_job(
    jobs_client: JobsClientFactory, jobs_namespace: NamespaceAccess, checkpoint: str
) -> None:
    client = jobs_client()
    ns = jobs_namespace.name
    first = client.jobs.submit("evaluate", ns, evaluate_params(checkpoint), idempotency_key="nightly-eval-1")
    assert (first.status, first.kind, first.params["artifact"]) == ("queued", "evaluate", checkpoint)
    again = client.jobs.submit("evaluate", ns, evaluate_params(checkpoint), idempotency_key="nightly-eval-1")
    assert again.id == first.id
    other = client.jobs.submit("evaluate", ns, evaluate_params(checkpoint))
    assert other.id != first.id

    # The answer to the first POST is lost: the SDK resends it with the same generated key.
    transport = LosesFirstJobAnswer()
    flaky = jobs_client(http_client=httpx.Client(transport=transport), retry_policy=RetryPolicy(sleep=lambda _: None))
    retried = flaky.jobs.submit("evaluate", ns, evaluate_params(checkpoint))
    posts = [r for r in transport.requests if r.method == "POST"]
    assert transport.dropped and len(posts) == 2
    assert posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]
    ids = [job.id for job in client.jobs.list(namespace=ns, page_size=1)]  # one job per page: lazy paging
    assert ids == [first.id, other.id, retried.id]


def test_bad_params_get_a_422_naming_the_field(
    jobs_client: JobsClientFactory, jobs_namespace: NamespaceAccess, checkpoint: str
) -> None:
    client = jobs_client()
    with pytest.raises(InvalidError, match=r"params\.image_size") as caught:
        client.jobs.submit("evaluate", jobs_namespace.name, {**evaluate_params(checkpoint), "image_size": 4})
    assert caught.value.status_code == 422
    with pytest.raises(InvalidError, match=r"params\.imagesize"):
        client.jobs.submit("evaluate", jobs_namespace.name, {"artifact": checkpoint, "imagesize": 8})
    kinds = {kind.name: kind for kind in client.jobs.kinds()}
    assert {"train", "evaluate"} <= set(kinds)
    assert "image_size" in kinds["evaluate"].params_schema["properties"]


def test_cancel_a_queued_job(jobs_client: JobsClientFactory, jobs_namespace: NamespaceAccess, checkpoint: str) -> None:
    client = jobs_client()
    job = client.jobs.submit("evaluate", jobs_namespace.name, evaluate_params(checkpoint))
    cancelled = client.jobs.cancel(job.id)  # no worker runs: it is still queued
    assert cancelled.status == "cancelled" and cancelled.done
    assert client.jobs.get(job.id).status == "cancelled"
    with pytest.raises(ConflictError):
        client.jobs.cancel(job.id)
    with pytest.raises(JobCancelledError) as caught:
        client.jobs.wait(job.id, timeout=10)
    assert caught.value.job.id == job.id
    assert client.jobs.wait(job.id, raise_on_failure=False).status == "cancelled"
    assert [j.id for j in client.jobs.list(namespace=jobs_namespace.name, status="cancelled")] == [job.id]


def test_wait_logs_events_reconnect_and_failure(
    jobs_client: JobsClientFactory,
    jobs_namespace: NamespaceAccess,
    checkpoint: str,
    start_worker: Callable[[], WorkerProcess],
) -> None:
    client = jobs_client()
    ns = jobs_namespace.name
    worker = start_worker()

    job = client.jobs.submit("evaluate", ns, evaluate_params(checkpoint))
    started = time.monotonic()
    with pytest.raises(JobTimeoutError):  # the stream is quiet while the worker starts: the deadline still holds
        client.jobs.wait(job.id, timeout=0.3)
    assert time.monotonic() - started < 3
    done = client.jobs.wait(job.id, timeout=120, progress=False)
    assert done.status == "succeeded", worker.log_tail()
    assert done.progress == 1.0 and 0 <= done.result["metrics"]["top1"] <= 1

    lines = client.jobs.logs(job.id)
    assert any(line.line.startswith("metrics:") for line in lines)
    assert client.jobs.logs(job.id, after=lines[0].id) == lines[1:]
    events = list(client.jobs.events(job.id))  # a finished job: its whole history, then the end
    assert [e.line for e in events if e.type == "log"] == lines
    assert events[-1].type == "end" and events[-1].status == "succeeded"
    assert events[-2].job is not None and events[-2].job.status == "succeeded"

    # The first event stream breaks after one byte: wait reconnects (once: the SDK's read timeout is longer than
    # the service's keep-alive interval), and never polls the job or its logs.
    second = client.jobs.submit("evaluate", ns, evaluate_params(checkpoint))
    first_stream = f"/v1/jobs/{second.id}/events"
    cuts = iter([1])  # bytes before the cut, for the first stream only
    transport = RecordingTransport(cut=lambda r: next(cuts, None) if r.url.path == first_stream else None)
    cut_client = jobs_client(http_client=httpx.Client(transport=transport, timeout=DEFAULT_TIMEOUT))
    assert cut_client.jobs.wait(second.id, timeout=120).status == "succeeded"
    streams = [r for r in transport.requests if r.url.path == first_stream]
    assert len(streams) == 2 and "Last-Event-ID" not in streams[0].headers
    assert transport.paths("GET").count(f"/v1/jobs/{second.id}") == 0
    assert not [p for p in transport.paths("GET") if p.endswith("/logs")]
    second_lines = client.jobs.logs(second.id)
    resumed = list(client.jobs.events(second.id, after_log=second_lines[0].id))  # what a reconnect receives
    assert [e.line for e in resumed if e.type == "log"] == second_lines[1:] and resumed[-1].type == "end"

    # Weights that do not fit the architecture: the job fails and wait says why.
    client.models.create(f"{ns}/misfit", arch="resnet20")
    misfit = client.artifacts.upload(f"{ns}/misfit", tiny_model_bytes(), kind="checkpoint")
    failing = client.jobs.submit("evaluate", ns, evaluate_params(misfit.id))
    with pytest.raises(JobFailedError, match="do not fit the architecture") as caught:
        client.jobs.wait(failing.id, timeout=120)
    assert caught.value.job.status == "failed"


def test_a_quiet_job_keeps_one_stream_open_past_the_read_timeout(
    jobs_client: JobsClientFactory,
    jobs_server: LiveServer,
    jobs_namespace: NamespaceAccess,
    checkpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No worker runs: the job sits queued, saying nothing, for longer than the client's read timeout. The
    service's keep-alives hold the one stream open, and wait neither reconnects nor polls."""
    monkeypatch.setattr(jobs_server.runtime.settings, "job_event_keepalive_seconds", 0.2)
    transport = RecordingTransport()
    client = jobs_client(http_client=httpx.Client(transport=transport, timeout=httpx.Timeout(1.0)))
    job = client.jobs.submit("evaluate", jobs_namespace.name, evaluate_params(checkpoint))
    quiet_seconds = 2.5
    canceller = threading.Timer(quiet_seconds, lambda: jobs_client().jobs.cancel(job.id))
    canceller.start()
    started = time.monotonic()
    with pytest.raises(JobCancelledError):
        client.jobs.wait(job.id[:8], timeout=30)
    canceller.join()
    assert time.monotonic() - started >= quiet_seconds
    assert transport.paths("GET") == ["/v1/jobs", f"/v1/jobs/{job.id}/events"]  # the short id, then one stream


def test_an_ambiguous_short_id_says_which_jobs_it_matches(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["id_prefix"] == "c9ab"
        items = [{"id": "c9ab" + "0" * 28}, {"id": "c9ab" + "1" * 28}]
        return httpx.Response(200, json={"items": items, "next_page_token": None})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = Client("http://registry.test", token="t", progress=False, cache_dir=tmp_path, http_client=http)
    with pytest.raises(PatchhubError, match=r"'c9ab' is ambiguous: it starts c9ab0+, c9ab1+; give more") as caught:
        client.jobs.get("C9AB")
    assert caught.value.status_code == 400


def test_keep_alives_after_a_log_line_are_not_events(tmp_path: Path) -> None:
    """Once an event had an id, a keep-alive comment followed by a blank line is dispatched by SSE parsers as an
    empty message; it must be skipped, not parsed."""
    job_id = "f" * 32
    line = {"id": 3, "attempt": 1, "created_at": "2026-01-01T00:00:00+00:00", "line": "epoch 1"}
    body = (
        f"id: 3\nevent: log\ndata: {json.dumps(line)}\n\n: keep-alive\n\n: keep-alive\n\n"
        'event: end\ndata: {"status": "succeeded"}\n\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/v1/jobs/{job_id}/events"
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body.encode())

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = Client("http://registry.test", token="t", progress=False, cache_dir=tmp_path, http_client=http)
    events = list(client.jobs.events(job_id))
    assert [(e.type, e.line.line if e.line else e.status) for e in events] == [("log", "epoch 1"), ("end", "succeeded")]
