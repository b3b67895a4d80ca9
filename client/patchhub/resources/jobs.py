"""``client.jobs``: submit work (training, evaluation ...), follow it live, read its logs, cancel it.

``wait`` follows the job's server-sent events with a progress bar and, if the stream breaks, polls
instead; it returns the finished ``Job`` and raises ``JobFailedError`` / ``JobCancelledError`` when the
job did not succeed (``raise_on_failure=False`` returns it whatever its status).
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from tqdm.auto import tqdm

from patchhub._http import translate_transport_errors
from patchhub.errors import (
    APIConnectionError,
    InternalServerError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
)
from patchhub.resources._base import Resource, segment
from patchhub.sse import DeadlineExceeded, ThreadedReader, parse_event_stream
from patchhub.types import Job, JobEvent, JobKind, LogLine

DEFAULT_POLL_INTERVAL = 1.0  # seconds between polls once the event stream is unavailable


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
        return Job.from_json(self._transport.request_json("GET", _job_path(job_id)))

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
        data = self._transport.request_json("POST", f"{_job_path(job_id)}/cancel", idempotent=True)
        return Job.from_json(data)

    def logs(self, job_id: str, *, after: int = 0) -> builtins.list[LogLine]:
        """Every log line with an id above ``after`` (0: all of them), in order."""
        lines: builtins.list[LogLine] = []
        while True:  # the service answers in pages; an empty one means we have everything
            page = self._transport.request_json("GET", f"{_job_path(job_id)}/logs", params={"after": after})
            if not page:
                return lines
            lines.extend(LogLine.from_json(item) for item in page)
            after = lines[-1].id

    def kinds(self) -> builtins.list[JobKind]:
        """The job kinds the service runs, with the JSON schema of each one's params."""
        return [JobKind.from_json(item) for item in self._transport.request_json("GET", "/v1/job-kinds")]

    def events(self, job_id: str) -> Iterator[JobEvent]:
        """The job's server-sent events as they happen: every log line, a ``progress`` event whenever its
        status, progress or message changes, and ``end`` once it is finished. One connection, no retries:
        a dropped stream raises ``APIConnectionError`` (``follow`` recovers from that)."""
        path = f"{_job_path(job_id)}/events"
        with (
            self._transport.open("GET", path, headers={"Accept": "text/event-stream"}) as response,
            translate_transport_errors(),
        ):
            for message in parse_event_stream(response.iter_lines()):
                event = _job_event(message.event, message.data)
                if event is not None:
                    yield event

    def follow(
        self, job_id: str, *, timeout: float | None = None, poll_interval: float = DEFAULT_POLL_INTERVAL
    ) -> Iterator[JobEvent]:
        """Like ``events`` until the job ends, but robust: if the stream breaks (or is unavailable) it
        polls the job and its logs instead, and it stops with ``JobTimeoutError`` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_log = 0
        last_job: Job | None = None
        reader = ThreadedReader(self.events(job_id))
        try:
            for event in reader.items(deadline):
                if event.line is not None:
                    last_log = event.line.id
                if event.job is not None:
                    last_job = event.job
                yield event
                if event.type == "end":
                    return
        except (APIConnectionError, InternalServerError):
            pass  # the stream broke or the service could not serve it: poll instead
        except DeadlineExceeded:
            raise JobTimeoutError(last_job or self.get(job_id), timeout or 0.0) from None
        finally:
            reader.close()
        yield from self._poll(job_id, deadline, timeout, poll_interval, last_log, last_job)

    def _poll(
        self,
        job_id: str,
        deadline: float | None,
        timeout: float | None,
        poll_interval: float,
        last_log: int,
        last_job: Job | None,
    ) -> Iterator[JobEvent]:
        """The same events as the stream would give, built from GET requests."""
        while True:
            for line in self.logs(job_id, after=last_log):
                last_log = line.id
                yield JobEvent("log", line=line)
            job = self.get(job_id)
            if last_job is None or _state(job) != _state(last_job):
                yield JobEvent("progress", job=job)
            last_job = job
            if job.done:
                yield JobEvent("end", status=job.status)
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise JobTimeoutError(job, timeout or 0.0)
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        progress: bool | None = None,
        raise_on_failure: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Job:
        """Block until the job finishes and return its final record, showing a live progress bar.

        ``progress`` defaults to the client's setting. Raises ``JobFailedError`` or ``JobCancelledError``
        unless ``raise_on_failure`` is False, and ``JobTimeoutError`` after ``timeout`` seconds (the job
        itself goes on; cancel it with ``cancel``).
        """
        show = self._client.progress if progress is None else progress
        final: Job | None = None
        with JobProgressBar(job_id, enabled=show) as bar:
            for event in self.follow(job_id, timeout=timeout, poll_interval=poll_interval):
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


def _state(job: Job) -> tuple[object, ...]:
    return (job.status, job.progress, job.message, job.attempts)


def _job_event(event_type: str, data: str) -> JobEvent | None:
    """A typed event from one server-sent event; unknown event types are skipped."""
    payload = json.loads(data)
    if event_type == "progress":
        return JobEvent("progress", job=Job.from_json(payload))
    if event_type == "log":
        return JobEvent("log", line=LogLine.from_json(payload))
    if event_type == "end":
        return JobEvent("end", status=payload.get("status"))
    return None
