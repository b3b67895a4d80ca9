"""Recovery without waiting for the broker: re-queue jobs whose worker died, send jobs that never reached it.

Every worker runs one sweeper thread; they may overlap safely (row locks, and a job is claimed once).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from registry.db.base import utcnow
from registry.db.session import transaction
from registry.jobs import service
from registry.jobs.broker import enqueue
from registry.jobs.lifecycle import expire_dead_leases, unsent_jobs
from registry.runtime import Runtime

log = logging.getLogger("patchhub.sweeper")
UNSENT_GRACE = timedelta(seconds=5)  # a submission enqueues right after its commit; give it this long


def sweep_once(runtime: Runtime) -> int:
    """One pass; returns how many jobs were (re-)enqueued."""
    now = utcnow()
    with transaction(runtime.session_factory) as session:
        to_send = expire_dead_leases(session, now) + unsent_jobs(session, now, UNSENT_GRACE)
    for job_id, queue in to_send:
        enqueue(runtime.settings, job_id, queue)
        with transaction(runtime.session_factory) as session:
            service.mark_enqueued(session, job_id)
        log.info("enqueued job %s on %s", job_id, queue)
    return len(to_send)


def start_sweeper(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(runtime.settings.job_sweep_seconds):
            try:
                sweep_once(runtime)
            except Exception:
                log.exception("sweep failed; retrying at the next interval")

    thread = threading.Thread(target=loop, name="patchhub-sweeper", daemon=True)
    thread.start()
    return thread
