"""Hostile safetensors headers, several at once, against a live server: each is refused early with a 422,
memory stays bounded and the server keeps answering (``/healthz`` stays fast) while they arrive."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model

MAX_HEALTHZ_SECONDS = 1.0
MAX_PEAK_GROWTH_BYTES = 300 * 1024 * 1024


def with_prefix(header: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header


def many_empty_tensors(size: int) -> bytes:
    """``{"t0":{},"t1":{},...}`` up to ``size`` bytes: millions of tensors (1.75 M took 1.4 GB before)."""
    body = bytearray(b"{")
    i = 0
    while len(body) < size - 32:
        body += b'"t%d":{},' % i
        i += 1
    body += b'"end":{}}'
    return with_prefix(bytes(body))


def deeply_nested(depth: int) -> bytes:
    return with_prefix(b'{"a":{"dtype":' + b"[" * depth + b"]" * depth + b"}}")


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


@pytest.mark.parametrize("live_server", ["sqlite-local"], indirect=True)
def test_concurrent_hostile_headers_are_refused_and_the_server_stays_responsive(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    limit = live_server.runtime.settings.max_header_bytes
    bodies = [many_empty_tensors(limit - 64), many_empty_tensors(limit - 64), deeply_nested(5000), deeply_nested(50)]
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
    answers: list[httpx.Response] = []
    reset_peak_rss()
    baseline = peak_rss_bytes()

    def send(body: bytes) -> None:
        with live_server.client(namespace.write_token) as client:
            answers.append(
                client.put(
                    f"/v1/models/{namespace.name}/net/artifacts",
                    params={"kind": "base"},
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                )
            )

    senders = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for sender in senders:
        sender.start()
    slowest = 0.0
    with httpx.Client(base_url=live_server.url, timeout=30) as probe:
        while any(sender.is_alive() for sender in senders):
            started = time.monotonic()
            assert probe.get("/healthz").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
    for sender in senders:
        sender.join()
    assert sorted(a.status_code for a in answers) == [422] * len(bodies), [a.text for a in answers]
    details = " ".join(a.json()["detail"] for a in answers)
    assert "more tensors than the limit" in details and "nests deeper" in details
    assert slowest < MAX_HEALTHZ_SECONDS, f"/healthz took {slowest:.2f} s while hostile headers arrived"
    assert peak_rss_bytes() - baseline < MAX_PEAK_GROWTH_BYTES
    with live_server.client(namespace.write_token) as client:
        assert client.get(f"/v1/models/{namespace.name}/net").json()["latest_version"] is None
