"""Which workers consume which queues, as the workers announce it on the Redis broker.

Each worker refreshes a key with a short expiry from a thread of its own, so a worker busy with a long job (the
solo pool answers no broadcast while it runs one) still counts, and a dead one drops out within
``PRESENCE_TTL_SECONDS``. The embedded broker has no such store: `serve` starts its own worker there.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass

import redis

KEY_PREFIX = "patchhub:worker:"
PRESENCE_INTERVAL_SECONDS = 5.0
PRESENCE_TTL_SECONDS = 20  # four missed refreshes: gone
TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class WorkerPresence:
    node: str  # the Celery node name, "patchhub-<queues>-<pid>@<host>"
    queues: tuple[str, ...]


def supports_presence(broker_url: str) -> bool:
    return broker_url.startswith(("redis://", "rediss://", "unix://"))


def _client(broker_url: str) -> redis.Redis:
    return redis.Redis.from_url(broker_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


def listening_workers(broker_url: str) -> list[WorkerPresence]:
    """Every worker that announced itself within the last ``PRESENCE_TTL_SECONDS``."""
    client = _client(broker_url)
    try:
        found = []
        for key in client.scan_iter(match=f"{KEY_PREFIX}*", count=1000):
            raw = client.get(key)
            if raw is not None:
                record = json.loads(raw)
                found.append(WorkerPresence(node=record["node"], queues=tuple(record["queues"])))
        return sorted(found, key=lambda presence: presence.node)
    finally:
        client.close()


def start_announcing(broker_url: str, presence: WorkerPresence, stop: threading.Event) -> threading.Thread:
    """Refresh this worker's key until ``stop`` is set, then remove it. Broker outages are ridden out."""
    key = f"{KEY_PREFIX}{presence.node}"
    value = json.dumps({"node": presence.node, "queues": list(presence.queues)})

    def loop() -> None:
        client = _client(broker_url)
        try:
            while not stop.is_set():
                with contextlib.suppress(redis.RedisError):  # the broker is away; the worker's log says so
                    client.set(key, value, ex=PRESENCE_TTL_SECONDS)
                stop.wait(PRESENCE_INTERVAL_SECONDS)
            with contextlib.suppress(redis.RedisError):  # else the key expires by itself
                client.delete(key)
        finally:
            client.close()

    thread = threading.Thread(target=loop, name="patchhub-presence", daemon=True)
    thread.start()
    return thread
