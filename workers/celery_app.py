"""The worker-side Celery app: the shared configuration, the task that runs jobs, and the lease sweeper.

Start workers with ``patchhub-server worker --queues gpu,cpu --concurrency 1``.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from registry.contract.platform import WorkerPresence, get_settings, make_celery, start_announcing, supports_presence
from registry.contract.sweeper import start_sweeper
from workers.jobs.runtime import worker_runtime

app: Celery = make_celery(get_settings())
_sweeper_stop = threading.Event()


@worker_ready.connect
def _start_sweeper(sender: Any = None, **_kwargs: Any) -> None:
    start_sweeper(worker_runtime(), _sweeper_stop)
    broker_url = get_settings().broker_url
    if sender is not None and supports_presence(broker_url):  # what `patchhub-server check` reads
        queues = tuple(sorted(queue.name for queue in sender.task_consumer.queues))
        start_announcing(broker_url, WorkerPresence(node=sender.hostname, queues=queues), _sweeper_stop)


@worker_shutdown.connect
def _stop_sweeper(**_kwargs: Any) -> None:
    _sweeper_stop.set()


import workers.tasks.jobs  # noqa: E402, F401  (registers the task on `app`)
