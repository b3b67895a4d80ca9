"""The sha256 of a composition's output cached as its patched tensors, computed from the cache after its
first download was sent (a whole cached file is hashed as it is written, ``cached_output``).

Hashing the output while sending it took a core from the response on this 2-core machine (the first download
fell from about 0.6 to about 0.5 of a plain copy, bench/RESULTS.md issue 14), and nobody needs the digest
before the cache exists: downloads are named by the composition id (their ETag). So the digest runs on its own
thread once the cache is committed, at most one per composition at a time in this process, and writes
``compositions.sha256`` unless someone already has. A cached output found without one (the process stopped
before it finished) starts it again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

from registry.db.session import transaction
from registry.models import Composition
from registry.resources.compositions.single_flight import computation_key
from registry.runtime import Runtime
from registry.storage.splice import Splice

log = logging.getLogger(__name__)

_lock = threading.Lock()
_running: set[str] = set()


def start_digest(runtime: Runtime, composition_id: str, output: Callable[[], Splice | None]) -> threading.Thread | None:
    """Hash ``output()`` (the composition's cached bytes, looked up on the thread) and record it; None when a
    digest of this composition is running already."""
    key = computation_key(runtime, composition_id)  # its own set: a digest runs beside no computation
    with _lock:
        if key in _running:
            return None
        _running.add(key)
    thread = threading.Thread(
        target=_record_digest, args=(runtime, composition_id, output, key), name="composition-digest", daemon=True
    )
    thread.start()
    return thread


def _record_digest(runtime: Runtime, composition_id: str, output: Callable[[], Splice | None], key: str) -> None:
    try:
        with transaction(runtime.session_factory) as session:  # the caller's row may be older than the database's
            row = session.get(Composition, composition_id)
            if row is None or row.sha256 is not None:
                return
        splice = output()
        if splice is None:
            return
        digest = hashlib.sha256()
        for piece in splice.iter_range(runtime.store, 0, splice.size):
            digest.update(piece)
        with transaction(runtime.session_factory) as session:
            row = session.get(Composition, composition_id)
            if row is not None and row.sha256 is None:
                row.sha256 = digest.hexdigest()
    except Exception:  # the cache was evicted meanwhile, or the database is down: the next read tries again
        log.warning("could not record the sha256 of composition %s", composition_id, exc_info=True)
    finally:
        with _lock:
            _running.discard(key)
