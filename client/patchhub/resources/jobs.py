"""``client.jobs``: submit work (training, evaluation ...), follow it live, read its logs, cancel it.

``wait`` follows the job's server-sent events with a progress bar. The service sends a keep-alive comment
while a job is quiet, so a read timeout only fires when the connection is really gone; then ``follow``
reconnects with backoff and ``Last-Event-ID``, so no log line is missed and nothing polls. It returns the
finished ``Job`` and raises ``JobFailedError`` / ``JobCancelledError`` when the job did not succeed
(``raise_on_failure=False`` returns it whatever its status).

Every method taking a job id also takes a unique prefix of one (at least 4 characters), as progress bars
print them.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from httpx_sse import EventSource, SSEError
from tqdm.auto import tqdm

from patchhub._http import translate_transport_errors
from patchhub.errors import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
)
from patchhub.resources._base import Resource, segment
from patchhub.sse import DeadlineExceeded, ThreadedReader
from patchhub.types import Job, JobEvent, JobKind, LogLine

FULL_ID_LENGTH = 32
MIN_PREFIX_LENGTH = 4
RECONNECT_INITIAL_DELAY = 0.5  # seconds before reconnecting a broken event stream; doubles per failure
RECONNECT_MAX_DELAY = 10.0
MAX_RECONNECTS = 8  # consecutive failed connections (about 45 s of backoff) before giving up


class AmbiguousJobIdError(BadRequestError):
    """A short job id matches more than one job."""

    default_error = "ambiguous_job_id"


class Jobs(Resource):
    def submit(
        self,
        kind: str,
        namespace: str,
        params: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a job. The same ``idempotency_key`` (per namespace) always answers with the same job.

        Without a key the SDK makes one for this call, so its own retries of a POST whose answer was lost
        can never create a second job.
        """
        key = idempotency_key or uuid.uuid4().hex
        body = {"kind": kind, "namespace": namespace, "params": params or {}}
        data = self._transport.request_json(
            "POST", "/v1/jobs", json=body, headers={"Idempotency-Key": key}, idempotent=True
        )
        return Job.from_json(data)

    def get(self, job_id: str) -> Job:
        return Job.from_json(self._transport.request_json("GET", _job_path(self.resolve_id(job_id))))

    def resolve_id(self, job_id: str) -> str:
        """The full id of the job ``job_id`` names: itself, or the one job whose id starts with it."""
        job_id = job_id.strip().lower()
        if len(job_id) >= FULL_ID_LENGTH:
            return job_id
        if len(job_id) < MIN_PREFIX_LENGTH:
            raise NotFoundError(
                f"job id {job_id!r} is too short: give at least {MIN_PREFIX_LENGTH} characters", status_code=404
            )
        page = self._transport.request_json("GET", "/v1/jobs", params={"id_prefix": job_id, "page_size": 10})
        matches = [item["id"] for item in page["items"]]
        if not matches:
            raise NotFoundError(f"no job visible to this token has an id starting with {job_id!r}", status_code=404)
        if len(matches) > 1:
            more = " ..." if page.get("next_page_token") else ""
            raise AmbiguousJobIdError(
                f"job id {job_id!r} is ambiguous: it starts {', '.join(matches)}{more}; give more characters",
                status_code=400,
            )
        return str(matches[0])

    def list(
        self,
        *,
        namespace: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        page_size: int = 50,
    ) -> Iterator[Job]:
        """Jobs this token can see, oldest first; pages are fetched as the iterator advances."""
        params = {"namespace": namespace, "status": status, "kind": kind, "page_size": page_size}
        for item in self._pages("/v1/jobs", params):
            yield Job.from_json(item)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job now; a running one stops at its next progress point (``cancel_requested``)."""
        data = self._transport.request_json("POST", f"{_job_path(self.resolve_id(job_id))}/cancel", idempotent=True)
        return Job.from_json(data)

    def logs(self, job_id: str, *, after: int = 0) -> builtins.list[LogLine]:
        """Every log line with an id above ``after`` (0: all of them), in order."""
        lines: builtins.list[LogLine] = []
        job_id = self.resolve_id(job_id)
        while True:  # the service answers in pages; an empty one means we have everything
            page = self._transport.request_json("GET", f"{_job_path(job_id)}/logs", params={"after": after})
            if not page:
                return lines
            lines.extend(LogLine.from_json(item) for item in page)
            after = lines[-1].id

    def kinds(self) -> builtins.list[JobKind]:
        """The job kinds the service runs, with the JSON schema of each one's params."""
        return [JobKind.from_json(item) for item in self._transport.request_json("GET", "/v1/job-kinds")]

    def events(self, job_id: str, *, after_log: int = 0) -> Iterator[JobEvent]:
        """The job's server-sent events as they happen: every log line (after the line id ``after_log``), a
        ``progress`` event first and whenever its status, progress or message changes, and ``end`` once it
        is finished. One connection, no retries: a dropped stream raises ``APIConnectionError`` (``follow``
        reconnects)."""
        path = f"{_job_path(self.resolve_id(job_id))}/events"
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if after_log:
            headers["Last-Event-ID"] = str(after_log)
        with (
            self._transport.open("GET", path, headers=headers) as response,
            translate_transport_errors(self._transport.base_url),
        ):
            try:
                for message in EventSource(response).iter_sse():
                    event = _job_event(message.event, message.data)
                    if event is not None:
                        yield event
            except SSEError as exc:  # something between us and the service answered with another format
                raise APIConnectionError(f"the job event stream from {self._transport.base_url}: {exc}") from None

    def follow(self, job_id: str, *, timeout: float | None = None) -> Iterator[JobEvent]:
        """Like ``events`` until the job ends, but robust: a broken stream is reopened after a backoff
        (0.5 s doubling to 10 s) from the last log line seen, so every line comes once; it stops with
        ``JobTimeoutError`` after ``timeout`` s, and gives up after ``MAX_RECONNECTS`` failed tries in a row."""
        job_id = self.resolve_id(job_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        last_log = 0
        last_job: Job | None = None
        failures = 0
        while True:
            reader = ThreadedReader(self.events(job_id, after_log=last_log))
            try:
                for event in reader.items(deadline):
                    failures = 0
                    if event.line is not None:
                        last_log = event.line.id
                    if event.job is not None:
                        last_job = event.job
                    yield event
                    if event.type == "end":
                        return
                error: Exception = APIConnectionError(f"the job event stream from {self._transport.base_url} ended")
            except (APIConnectionError, InternalServerError) as exc:
                error = exc
            except DeadlineExceeded:
                raise JobTimeoutError(last_job or self.get(job_id), timeout or 0.0) from None
            finally:
                reader.close()
            failures += 1
            if failures > MAX_RECONNECTS:
                raise error
            delay = min(RECONNECT_INITIAL_DELAY * 2 ** (failures - 1), RECONNECT_MAX_DELAY)
            if deadline is not None and time.monotonic() + delay >= deadline:
                time.sleep(max(0.0, deadline - time.monotonic()))
                raise JobTimeoutError(last_job or self.get(job_id), timeout or 0.0)
            time.sleep(delay)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        raise_on_failure: bool = True,
    ) -> Job:
        """Block until the job finishes and return its final record, showing a live progress bar.

        ``progress`` defaults to the client's setting. Raises ``JobFailedError`` or ``JobCancelledError``
        unless ``raise_on_failure`` is False, and ``JobTimeoutError`` after ``timeout`` seconds (the job
        itself goes on; cancel it with ``cancel``).
        """
        job_id = self.resolve_id(job_id)
        show = self._client.progress if progress is None else progress
        final: Job | None = None
        with JobProgressBar(job_id, enabled=show) as bar:
            for event in self.follow(job_id, timeout=timeout):
                if event.job is not None:
                    final = event.job
                    bar.show(final)
        if final is None or not final.done:  # the end came without the final record
            final = self.get(job_id)
        if raise_on_failure and final.status == "failed":
            raise JobFailedError(final)
        if raise_on_failure and final.status == "cancelled":
            raise JobCancelledError(final)
        return final


class JobProgressBar:
    """A tqdm bar (stderr) showing a job's progress, status and latest message."""

    def __init__(self, job_id: str, *, enabled: bool) -> None:
        self._bar = tqdm(
            total=100,
            desc=f"job {job_id[:8]}",
            disable=not enabled,
            leave=False,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}{postfix}",
        )

    def show(self, job: Job) -> None:
        self._bar.set_description_str(f"{job.kind} {job.id[:8]}", refresh=False)
        self._bar.set_postfix_str(f"{job.status}: {job.message}"[:80], refresh=False)
        self._bar.n = round(job.progress * 100)
        self._bar.refresh()

    def __enter__(self) -> JobProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()


def _job_path(job_id: str) -> str:
    return f"/v1/jobs/{segment(job_id)}"


def _job_event(event_type: str, data: str) -> JobEvent | None:
    """A typed event from one server-sent event; other event types (a keep-alive dispatched as an empty
    ``message`` once an id was seen, say) are skipped."""
    if event_type not in ("progress", "log", "end"):
        return None
    payload = json.loads(data)
    if event_type == "progress":
        return JobEvent("progress", job=Job.from_json(payload))
    if event_type == "log":
        return JobEvent("log", line=LogLine.from_json(payload))
    if event_type == "end":
        return JobEvent("end", status=payload.get("status"))
    return None
