"""Running jobs: claim, heartbeat, dispatch to the kind's handler, register outputs exactly once.

Importing this package registers every handler.
"""

from workers.jobs import datasets, emov2, evaluate, lapp, rws, train, uva  # noqa: F401
from workers.jobs.handlers import HANDLERS, handles

__all__ = ["HANDLERS", "handles"]
