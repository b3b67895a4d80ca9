"""What a worker process needs from the service besides running jobs: its settings and runtime (database,
blob store), the Celery app and task name, and the presence announcements ``patchhub-server check`` reads."""

from registry.jobs.broker import RUN_JOB_TASK, make_celery
from registry.jobs.presence import WorkerPresence, start_announcing, supports_presence
from registry.runtime import Runtime, build_runtime
from registry.settings import get_settings

__all__ = [
    "RUN_JOB_TASK",
    "Runtime",
    "WorkerPresence",
    "build_runtime",
    "get_settings",
    "make_celery",
    "start_announcing",
    "supports_presence",
]
