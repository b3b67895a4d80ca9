"""``patchhub jobs ...``: submit, follow, list and cancel jobs. Job ids may be shortened to a unique prefix,
as the progress bar prints them."""

from __future__ import annotations

import json
from typing import Any

import click

from patchhub.cli._common import DefaultGroup, JsonObject, KeyValue, emit, global_options, options, plain
from patchhub.client import Client
from patchhub.errors import PatchhubError
from patchhub.report import table
from patchhub.types import Job

STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]


def job_line(job: Job) -> str:
    detail = f" ({job.error})" if job.error else ""
    return f"{job.id} {job.kind} {job.status} {job.progress:.0%} {job.message}{detail}".rstrip()


def job_text(job: Job) -> str:
    lines = [
        job_line(job),
        f"  namespace: {job.namespace}  queue: {job.queue}  attempts: {job.attempts}  by: {job.created_by}",
        f"  created: {job.created_at}  started: {job.started_at or '-'}  finished: {job.finished_at or '-'}",
        f"  params: {json.dumps(job.params, sort_keys=True)}",
    ]
    if job.result:
        lines.append(f"  result: {json.dumps(job.result, sort_keys=True)}")
    if job.outputs:
        lines.append(f"  outputs: {', '.join(job.outputs)}")
    if job.cancel_requested and not job.done:
        lines.append("  cancel requested: stops at its next progress point")
    return "\n".join(lines)


def _job_namespace(client: Client, namespace: str | None) -> str:
    if namespace:
        return namespace
    scope = client.whoami().namespace
    if scope is None:
        raise PatchhubError("this token is not scoped to one namespace: pass --namespace")
    return scope


@click.group(cls=DefaultGroup, default="ls")
@global_options
def jobs() -> None:
    """Submit, follow, list and cancel jobs."""


@jobs.command("ls")
@click.option("--namespace")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--kind")
@global_options
@click.pass_context
def jobs_ls(ctx: click.Context, namespace: str | None, status: str | None, kind: str | None) -> None:
    """Jobs this token can see, oldest first."""
    with options(ctx).client() as client:
        found = list(client.jobs.list(namespace=namespace, status=status, kind=kind))
    rows = [
        [j.id, j.kind, j.namespace, j.status, f"{j.progress:.0%}", str(j.created_at)[:19], j.message[:40]]
        for j in found
    ]
    emit(ctx, found, table(rows, ["ID", "KIND", "NAMESPACE", "STATUS", "PROGRESS", "CREATED", "MESSAGE"]))


@jobs.command("submit")
@click.argument("kind")
@click.option("--namespace", help="namespace the job runs for (default: the token's)")
@click.option("--param", "param", multiple=True, type=KeyValue(), help="key=value (value as JSON if it parses)")
@click.option("--params-json", type=JsonObject(), default="{}", help="params as a JSON object")
@click.option("--idempotency-key", help="the same key returns the same job")
@click.option("--wait", is_flag=True, help="follow the job until it finishes (exit 1 if it fails)")
@click.option("--timeout", type=float, help="with --wait: give up waiting after this many seconds")
@global_options
@click.pass_context
def jobs_submit(
    ctx: click.Context,
    kind: str,
    namespace: str | None,
    param: tuple[tuple[str, Any], ...],
    params_json: dict[str, Any],
    idempotency_key: str | None,
    wait: bool,
    timeout: float | None,
) -> None:
    """Queue a job of KIND (see: patchhub jobs kinds)."""
    params = {**params_json, **dict(param)}
    g = options(ctx)
    with g.client() as client:
        job = client.jobs.submit(kind, _job_namespace(client, namespace), params, idempotency_key=idempotency_key)
        if not wait:
            emit(ctx, job, f"Submitted {job_line(job)}")
            return
        if not g.json:
            click.echo(f"Submitted {job_line(job)}")  # the id first, to find the job again
        job = client.jobs.wait(job.id, timeout=timeout)
    emit(ctx, job, job_text(job))


@jobs.command("show")
@click.argument("job_id")
@global_options
@click.pass_context
def jobs_show(ctx: click.Context, job_id: str) -> None:
    """One job (JOB_ID may be a unique prefix)."""
    with options(ctx).client() as client:
        job = client.jobs.get(job_id)
    emit(ctx, job, job_text(job))


@jobs.command("logs")
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines until the job ends")
@global_options
@click.pass_context
def jobs_logs(ctx: click.Context, job_id: str, follow: bool) -> None:
    """A job's log."""
    g = options(ctx)
    with g.client() as client:
        if not follow:
            lines = client.jobs.logs(job_id)
            emit(ctx, lines, "\n".join(line.line for line in lines))
            return
        for event in client.jobs.follow(job_id):  # until the job ends; Ctrl-C stops following only
            if event.line is not None:
                click.echo(json.dumps(plain(event.line), default=str) if g.json else event.line.line)


@jobs.command("cancel")
@click.argument("job_id")
@global_options
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel a job: a queued one now, a running one at its next progress point."""
    with options(ctx).client() as client:
        job = client.jobs.cancel(job_id)
    note = "" if job.done else " (cancel requested: it stops at its next progress point)"
    emit(ctx, job, f"{job_line(job)}{note}")


@jobs.command("wait")
@click.argument("job_id")
@click.option("--timeout", type=float, help="give up waiting after this many seconds")
@global_options
@click.pass_context
def jobs_wait(ctx: click.Context, job_id: str, timeout: float | None) -> None:
    """Wait for a job to finish (exit 1 if it fails or is cancelled)."""
    with options(ctx).client() as client:
        job = client.jobs.wait(job_id, timeout=timeout)
    emit(ctx, job, job_text(job))


@jobs.command("kinds")
@global_options
@click.pass_context
def jobs_kinds(ctx: click.Context) -> None:
    """The job kinds the service runs, and their params."""
    with options(ctx).client() as client:
        kinds = client.jobs.kinds()
    lines = []
    for kind in kinds:
        fields = ", ".join(sorted(kind.params_schema.get("properties", {})))
        lines.append(f"{kind.name}: {kind.description}\n  params: {fields}")
    emit(ctx, kinds, "\n".join(lines) or "(none)")
