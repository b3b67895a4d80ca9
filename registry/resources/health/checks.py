"""What the service needs, checked one at a time; each failure is one sentence naming what is missing and the
command that fixes it. ``GET /readyz`` and ``patchhub-server check`` both run these."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from registry.blobs import BlobStore, BlobStoreUnavailable
from registry.db import migrate
from registry.db.problems import describe_database_error, redacted_url
from registry.jobs.broker import QUEUES, make_celery
from registry.jobs.presence import listening_workers, supports_presence
from registry.runtime import Runtime
from registry.settings import Settings

BROKER_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str  # "database", "migrations", "blob store", "broker", "queue gpu", ...
    ok: bool
    detail: str  # what was found, or what is missing and how to fix it
    # The API serves without the broker and workers (a submitted job waits queued), so only the other checks
    # make /readyz answer 503; `patchhub-server check` fails on any.
    serves_without: bool = False


def check_database(engine: Engine) -> list[Check]:
    """The database answers, and its schema is at this code's revision."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        missing = "not checked: the database is unreachable"
        return [Check("database", False, describe_database_error(exc, engine.url)), Check("migrations", False, missing)]
    database = Check("database", True, f"{engine.url.get_backend_name()} answers")
    try:
        found, wanted = migrate.current_heads(engine), migrate.code_heads()
    except SQLAlchemyError as exc:
        return [database, Check("migrations", False, describe_database_error(exc, engine.url))]
    if found == wanted:
        return [database, Check("migrations", True, f"at {', '.join(sorted(wanted))}")]
    if not found:
        detail = "the database has no schema yet; run: patchhub-server db upgrade"
    elif unknown := migrate.unknown_revisions(found):
        detail = (
            f"the database is at {', '.join(sorted(unknown))}, which this code does not know "
            "(newer code migrated it?); run the newer code or patchhub-server db downgrade"
        )
    else:
        detail = f"the database is at {', '.join(sorted(found))}, the code needs {', '.join(sorted(wanted))}; "
        detail += "run: patchhub-server db upgrade"
    return [database, Check("migrations", False, detail)]


def check_blob_store(store: BlobStore) -> Check:
    try:
        store.check()
    except BlobStoreUnavailable as exc:
        return Check("blob store", False, describe_blob_store_problem(exc))
    return Check("blob store", True, "answers")


def describe_blob_store_problem(error: BlobStoreUnavailable) -> str:
    """The store's own sentence, with the command that fixes it when the bucket or directory is missing."""
    missing = any(word in str(error) for word in ("does not exist", "is missing"))
    return f"{error}; create it with: patchhub-server storage init" if missing else str(error)


def check_jobs(settings: Settings, *, workers: bool = True) -> list[Check]:
    """The broker answers, and at least one worker announced that it consumes each queue."""
    try:
        broker = _check_broker(settings)
        found = listening_workers(settings.broker_url) if workers and supports_presence(settings.broker_url) else []
    except ImportError as exc:  # a broken install, not a broker problem
        detail = f"cannot talk to the broker: {exc}; reinstall patchhub-server with its dependencies"
        return [Check("broker", False, detail, serves_without=True)]
    except Exception as exc:  # kombu and redis raise transport-specific errors (socket, sqlalchemy, redis)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = redacted_url(settings.resolved_broker_url)
        return [Check("broker", False, f"the broker at {where} is unreachable: {reason}", serves_without=True)]
    if not workers:
        return [broker]
    checks = [broker]
    for queue in QUEUES:
        nodes = [worker.node for worker in found if queue in worker.queues]
        if settings.embedded_broker:  # no presence store there, and `serve` starts its own worker
            checks.append(Check(f"queue {queue}", True, "not checked: serve starts its own worker", True))
        elif nodes:
            checks.append(Check(f"queue {queue}", True, f"{len(nodes)} worker(s): {', '.join(nodes)}", True))
        else:
            fix = f"start one with: patchhub-server worker --queues {queue}"
            checks.append(Check(f"queue {queue}", False, f"no worker is listening on queue {queue}; {fix}", True))
    return checks


def check_worker_on_this_host(settings: Settings) -> Check:
    """A worker's own healthcheck: a worker on this host (container) announced itself on the broker."""
    host = socket.gethostname()
    if not supports_presence(settings.broker_url):
        return Check("worker", False, "needs a Redis broker (PATCHHUB_BROKER_URL=redis://...)")
    try:
        found = [worker for worker in listening_workers(settings.broker_url) if worker.node.endswith(f"@{host}")]
    except Exception as exc:
        return Check("worker", False, f"the broker is unreachable: {type(exc).__name__}")
    if not found:
        return Check("worker", False, f"no worker on this host ({host}) announced itself")
    return Check("worker", True, "; ".join(f"{w.node} consumes {', '.join(w.queues)}" for w in found))


def _check_broker(settings: Settings) -> Check:
    """Connect the way Celery does, with bounded waits."""
    app = make_celery(settings)
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_S)
        kind = "embedded (SQLite file)" if settings.embedded_broker else conn.transport_cls
    return Check("broker", True, f"{kind} answers", serves_without=True)


def run_checks(runtime: Runtime, *, workers: bool = True) -> list[Check]:
    return [
        *check_database(runtime.engine),
        check_blob_store(runtime.store),
        *check_jobs(runtime.settings, workers=workers),
    ]
