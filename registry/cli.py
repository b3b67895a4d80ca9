"""``patchhub-server``: run the service, manage the database, namespaces, tokens and garbage."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from registry.blobs import BlobStoreUnavailable
from registry.db import migrate
from registry.db.create import create_database_if_missing
from registry.db.problems import describe_database_error, redacted_url
from registry.db.session import transaction
from registry.errors import PatchhubError
from registry.jobs.broker import QUEUES
from registry.models import ApiToken, Role
from registry.resources.health.checks import (
    check_blob_store,
    check_worker_on_this_host,
    describe_blob_store_problem,
    run_checks,
)
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings, get_settings


def _runtime() -> Runtime:
    return build_runtime(get_settings())


class _Commands(click.Group):
    """Every command reports a missing database, schema or bucket in one sentence, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OperationalError, InterfaceError, ProgrammingError) as exc:
            raise click.ClickException(describe_database_error(exc, get_settings().resolved_database_url)) from None
        except BlobStoreUnavailable as exc:
            raise click.ClickException(describe_blob_store_problem(exc)) from None
        except PatchhubError as exc:
            raise click.ClickException(exc.detail) from None


@click.group(cls=_Commands)
def main() -> None:
    """patchhub registry service."""


@main.command()
@click.option("--queues", default="gpu,cpu", show_default=True, help="comma-separated queues to consume")
@click.option("--concurrency", default=1, show_default=True, help="jobs run at once in this worker")
def worker(queues: str, concurrency: int) -> None:
    """Run a Celery worker for jobs (uses CUDA when present)."""
    missing = _missing_worker_stack()
    if missing:
        raise click.ClickException(f"the worker needs {missing}, which is not installed: {WORKER_INSTALL}")
    from workers.celery_app import app

    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(names) - set(QUEUES)
    if unknown or not names:
        raise click.BadParameter(f"queues must be among {', '.join(QUEUES)}", param_hint="--queues")
    pool = "solo" if concurrency == 1 else "threads"
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(names)}",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--hostname=patchhub-{'-'.join(names)}-{os.getpid()}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@main.command()
@click.option("--host", default=None, help="interface to listen on (default PATCHHUB_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default PATCHHUB_PORT or 8000)")
def serve(host: str | None, port: int | None) -> None:
    """Migrate the database and serve the API (embedded default: SQLite + local blobs, no setup)."""
    import uvicorn

    from registry.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    migrate.upgrade(settings.resolved_database_url)
    runtime = build_runtime(settings)
    token_file = _bootstrap_admin_token(runtime)
    click.echo(f"patchhub listening on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)")
    click.echo(f"database: {redacted_url(settings.resolved_database_url)}   blobs: {settings.resolved_blob_url}")
    if not settings.embedded_broker:
        click.echo(f"jobs: broker {redacted_url(settings.broker_url)}; workers run apart (patchhub-server worker)")
    if token_file:
        click.echo(f"first start: an admin token was written to {token_file} (readable by you only)")
    blobs = check_blob_store(runtime.store)
    if not blobs.ok:  # serve anyway (the bucket may be on its way); /readyz answers 503 until it is there
        click.echo(f"not ready: {blobs.detail}", err=True)
    embedded_worker = _start_embedded_worker() if settings.embedded_broker else None
    try:
        uvicorn.run(create_app(runtime=runtime), host=host, port=port, log_level="info")
    finally:
        if embedded_worker is not None:
            embedded_worker.terminate()
            embedded_worker.wait(timeout=30)


WORKER_INSTALL = "pip install 'patchhub-server[worker]'"
WORKER_STACK = ("torch", "sklearn")  # the worker extra's imports; the API imports neither


def _missing_worker_stack() -> str | None:
    return next((name for name in WORKER_STACK if importlib.util.find_spec(name) is None), None)


def _start_embedded_worker() -> subprocess.Popen[bytes] | None:
    """With the embedded broker (no Redis configured), `serve` runs one worker subprocess itself."""
    missing = _missing_worker_stack()
    if missing:
        click.echo(f"jobs: no worker started ({missing} is not installed: {WORKER_INSTALL}); jobs stay queued")
        return None
    command = [sys.executable, "-m", "registry.cli", "worker", "--queues", "gpu,cpu", "--concurrency", "1"]
    click.echo("jobs: embedded broker (SQLite file) with one worker subprocess")
    return subprocess.Popen(command, preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def _die_with_parent() -> None:
    """In the worker child: get SIGTERM when `serve` dies, however it dies (uvicorn re-raises SIGTERM after its
    graceful shutdown, so `serve`'s own cleanup may never run)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _bootstrap_admin_token(runtime: Runtime) -> str | None:
    """On a database without tokens, create an admin token and store it in a private file."""
    from registry.auth.tokens import create_token

    with transaction(runtime.session_factory) as session:
        if session.scalar(select(func.count()).select_from(ApiToken)):
            return None
        _token, secret = create_token(session, "bootstrap-admin", Role.admin, None)
    path = runtime.settings.data_dir / "admin-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return str(path)


@main.group()
def db() -> None:
    """Database schema (Alembic revisions in migrations/)."""


@db.command("create")
def db_create() -> None:
    """Create the database PATCHHUB_DATABASE_URL names, on a server that runs already (no-op if it exists)."""
    url = get_settings().resolved_database_url
    created = create_database_if_missing(url)
    click.echo(f"database {'created' if created else 'exists'}: {redacted_url(url)}")


@db.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema (before new code starts: upgrades are additive)."""
    settings = get_settings()
    migrate.upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}: {redacted_url(settings.resolved_database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(get_settings().resolved_database_url, revision)
    click.echo(f"database at {revision}")


@main.group()
def storage() -> None:
    """The blob store (an S3 bucket or a local directory)."""


@storage.command("init")
def storage_init() -> None:
    """Create the bucket (or directory) PATCHHUB_BLOB_URL names, if it is missing."""
    from registry.storage.bootstrap import init_blob_store

    settings = get_settings()
    click.echo(init_blob_store(_runtime().store, settings.s3_region))


@main.command()
@click.option("--no-workers", is_flag=True, help="skip asking the broker for a worker on each queue")
@click.option("--local-worker", is_flag=True, help="only: a worker on this host is listening (its healthcheck)")
def check(no_workers: bool, local_worker: bool) -> None:
    """Say what is missing: database, migrations, blob store, broker, a worker on each queue (exit 1 if any)."""
    settings = get_settings()
    if local_worker:
        checks = [check_worker_on_this_host(settings)]
    else:
        runtime = _runtime()
        try:
            checks = run_checks(runtime, workers=not no_workers)
        finally:
            runtime.close()
    for item in checks:
        click.echo(f"{'ok  ' if item.ok else 'FAIL'}  {item.name}: {item.detail}")
    if not all(item.ok for item in checks):
        raise SystemExit(1)


@main.group()
def namespace() -> None:
    """Namespaces (teams or users that own models)."""


@namespace.command("create")
@click.argument("name")
@click.option("--description", default="")
def namespace_create(name: str, description: str) -> None:
    from registry.resources.namespaces.service import create_namespace

    with transaction(_runtime().session_factory) as session:
        create_namespace(session, name, description)
    click.echo(f"namespace {name} created")


@namespace.command("list")
def namespace_list() -> None:
    from registry.resources.namespaces.service import list_namespaces

    with transaction(_runtime().session_factory) as session:
        for row in list_namespaces(session):
            click.echo(f"{row.name}\t{row.description}".rstrip())


@main.group()
def token() -> None:
    """API tokens (stored hashed; the secret is printed once)."""


@token.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default="read")
@click.option("--namespace", "namespace_name", default=None, help="scope to one namespace (default: all)")
def token_create(name: str, role: str, namespace_name: str | None) -> None:
    from registry.resources.namespaces.service import issue_token

    with transaction(_runtime().session_factory) as session:
        row, secret = issue_token(session, name, Role(role), namespace_name)
        token_id = row.id
    click.echo(f"token {token_id} ({role} on {namespace_name or 'all namespaces'}); store it now, it is not kept:")
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    from registry.resources.namespaces.service import get_token, revoke_token

    with transaction(_runtime().session_factory) as session:
        revoke_token(session, get_token(session, token_id))
    click.echo(f"token {token_id} revoked")


@token.command("list")
def token_list() -> None:
    from registry.resources.namespaces.service import list_tokens, namespace_name

    with transaction(_runtime().session_factory) as session:
        for row in list_tokens(session):
            state = "revoked" if row.revoked_at else "active"
            scope = namespace_name(session, row.namespace_id) or "*"
            click.echo(f"{row.id}\t{row.name}\t{row.role.value}\t{scope}\t{row.prefix}...\t{state}")


@main.command()
@click.option("--grace-minutes", type=int, default=None, help="keep unreferenced bytes younger than this")
@click.option("--dry-run", is_flag=True)
def gc(grace_minutes: int | None, dry_run: bool) -> None:
    """Delete blobs no artifact uses, expired uploads, stale staged bytes, and cached compositions over budget."""
    from registry.storage.gc import collect_garbage

    settings: Settings = get_settings()
    runtime = _runtime()
    grace = timedelta(minutes=settings.gc_grace_minutes if grace_minutes is None else grace_minutes)
    budget = settings.composition_cache_max_bytes
    report = collect_garbage(
        runtime.session_factory, runtime.store, grace, dry_run=dry_run, composition_cache_bytes=budget
    )
    verb = "would delete" if dry_run else "deleted"
    for key, value in dataclasses.asdict(report).items():
        click.echo(f"{verb} {key}: {value}" if not key.endswith("bytes_freed") else f"{key}: {value}")


if __name__ == "__main__":
    main()
