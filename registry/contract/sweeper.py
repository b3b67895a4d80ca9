"""Recovery without waiting for the broker: re-queue jobs whose worker died, send jobs whose message never
reached the broker or may have been lost there.

Every worker runs one sweeper thread; they may overlap safely (row locks, and a job is claimed once).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from registry.db.base import utcnow
from registry.db.outage import database_unavailable
from registry.db.session import transaction
from registry.jobs.broker import enqueue
from registry.jobs.lifecycle import expire_dead_leases, mark_enqueued, unsent_jobs
from registry.runtime import Runtime

log = logging.getLogger("patchhub.sweeper")
UNSENT_GRACE = timedelta(seconds=5)  # a submission enqueues right after its commit; give it this long


def sweep_once(runtime: Runtime, *, expire_leases: bool = True) -> int:
    """One pass; returns how many jobs were (re-)enqueued."""
    now = utcnow()
    resend_after = timedelta(seconds=runtime.settings.job_resend_seconds)
    with transaction(runtime.session_factory) as session:
        expired = expire_dead_leases(session, now) if expire_leases else []
        to_send = expired + unsent_jobs(session, now, UNSENT_GRACE, resend_after)
    for job_id, queue in to_send:
        enqueue(runtime.settings, job_id, queue)
        with transaction(runtime.session_factory) as session:
            mark_enqueued(session, job_id)
        log.info("enqueued job %s on %s", job_id, queue)
    return len(to_send)


def start_sweeper(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    lease = runtime.settings.job_lease_seconds

    def loop() -> None:
        # A lease that ran out while the database was away does not mean its worker died: the worker could
        # not renew it. Leases are expired only once the database has been reachable for a whole lease, so
        # a live worker has had the time to renew its lease or to give its job back.
        reachable_since: float | None = time.monotonic()
        while not stop.wait(runtime.settings.job_sweep_seconds):
            now = time.monotonic()
            settled = reachable_since is not None and now - reachable_since >= lease
            try:
                sweep_once(runtime, expire_leases=settled)
                reachable_since = now if reachable_since is None else reachable_since
            except Exception as exc:
                if database_unavailable(exc):
                    reachable_since = None
                log.exception("sweep failed; retrying at the next interval")

    thread = threading.Thread(target=loop, name="patchhub-sweeper", daemon=True)
    thread.start()
    return thread
