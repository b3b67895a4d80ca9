"""What the service needs, checked one at a time; each failure is one sentence naming what is missing and the
command that fixes it. ``GET /readyz`` and ``patchhub-server check`` both run these."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from registry.blobs import BlobStore, BlobStoreUnavailable
from registry.db import migrate
from registry.db.problems import describe_database_error, redacted_url
from registry.jobs.broker import QUEUES, make_celery
from registry.runtime import Runtime
from registry.settings import Settings

BROKER_TIMEOUT_S = 2.0
# How long a broadcast waits for workers' replies (it always waits this long: nobody knows how many answer).
WORKER_REPLY_TIMEOUT_S = 1.0


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
    elif found - wanted and not (found & wanted):
        detail = (
            f"the database is at {', '.join(sorted(found))}, which this code does not know "
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
        return Check("blob store", False, f"{exc}; create it with: patchhub-server storage init")
    return Check("blob store", True, "answers")


def check_jobs(settings: Settings, *, workers: bool = True) -> list[Check]:
    """The broker answers, and (asked through it) at least one worker consumes each queue."""
    try:
        broker, replies = _ask_workers(settings, workers)
    except Exception as exc:  # kombu raises transport-specific errors (redis, sqlalchemy, socket)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = redacted_url(settings.resolved_broker_url)
        return [Check("broker", False, f"the broker at {where} is unreachable: {reason}", serves_without=True)]
    if replies is None:
        return [broker]
    checks = [broker]
    for queue in QUEUES:
        if settings.embedded_broker:  # kombu's SQLAlchemy transport cannot broadcast, so there is nobody to ask
            checks.append(Check(f"queue {queue}", True, "not checked: serve starts its own worker", True))
        elif nodes := listening_on(replies, queue):
            checks.append(Check(f"queue {queue}", True, f"{len(nodes)} worker(s): {', '.join(nodes)}", True))
        else:
            fix = f"start one with: patchhub-server worker --queues {queue}"
            checks.append(Check(f"queue {queue}", False, f"no worker is listening on queue {queue}; {fix}", True))
    return checks


def check_worker_on_this_host(settings: Settings) -> Check:
    """A worker's own healthcheck: some worker on this host (container) answers through the broker."""
    host = socket.gethostname()
    try:
        _broker, replies = _ask_workers(settings, workers=True)
    except Exception as exc:
        return Check("worker", False, f"the broker is unreachable: {type(exc).__name__}")
    nodes = sorted(node for node in replies or {} if node.endswith(f"@{host}"))
    if not nodes:
        return Check("worker", False, f"no worker on this host ({host}) answers")
    queues = sorted({q for node in nodes for q in (entry.get("name") for entry in (replies or {})[node]) if q})
    return Check("worker", True, f"{', '.join(nodes)} consumes {', '.join(queues)}")


def listening_on(replies: dict[str, list[dict[str, Any]]], queue: str) -> list[str]:
    return sorted(node for node, queues in replies.items() if any(q.get("name") == queue for q in queues))


def _ask_workers(settings: Settings, workers: bool) -> tuple[Check, dict[str, list[dict[str, Any]]] | None]:
    """Connect to the broker with bounded waits; with ``workers``, broadcast for the queues each consumes."""
    app = make_celery(settings)
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_S)
        kind = "embedded (SQLite file)" if settings.embedded_broker else conn.transport_cls
        broker = Check("broker", True, f"{kind} answers", serves_without=True)
        if not workers:
            return broker, None
        if settings.embedded_broker:
            return broker, {}
        replies = app.control.inspect(timeout=WORKER_REPLY_TIMEOUT_S, connection=conn).active_queues()
        return broker, replies or {}


def run_checks(runtime: Runtime, *, workers: bool = True) -> list[Check]:
    return [
        *check_database(runtime.engine),
        check_blob_store(runtime.store),
        *check_jobs(runtime.settings, workers=workers),
    ]
