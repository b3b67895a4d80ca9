"""Running jobs: claim, heartbeat, dispatch to the kind's handler, register outputs exactly once.

Importing this package registers every handler.
"""

from registry.contract.handlers import HANDLERS
from workers.jobs import datasets, emov2, evaluate, lapp, rws, train, uva  # noqa: F401

__all__ = ["HANDLERS"]
