"""A composition's cache holds only its patched tensors (where downloads are not redirected to the store) and
serves the composed bytes, whole and by Range, spliced with the base's own; where downloads redirect, it holds
the whole file and later downloads are redirects. The output's sha256 is recorded from the cache once the first
download was sent (as it is written, for a whole file), and again after a restart lost it."""

from __future__ import annotations

import hashlib

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from patchhub.safetensors_format import parse_header
from registry.db.session import transaction
from registry.models import Composition
from registry.resources.compositions.cached_output import patched_key
from registry.resources.compositions.digests import start_digest
from registry.storage.keys import composition_output_key
from registry.storage.splice import Splice
from tests.fixtures.s3_direct import direct_server  # noqa: F401
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.registry.artifact_helpers import wait_until
from tests.registry.hf.repos import push, signature

# The signature covers encoder.bias only: the cache should hold its 256 bytes, not the 130 KiB around them.
TENSORS = {
    "a.weight": np.arange(64 * 256, dtype=np.float32).reshape(64, 256),
    "encoder.bias": np.linspace(-1, 1, 64, dtype=np.float32),
    "z.weight": np.full((64, 256), 3.0, dtype=np.float32),
}


def _composed_by_hand(delta: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    expected: dict[str, np.ndarray] = dict(TENSORS)
    expected["encoder.bias"] = TENSORS["encoder.bias"] + np.float32(scale) * delta
    return expected


def _composition(client: httpx.Client, namespace: str, scale: float) -> tuple[str, bytes, np.ndarray, httpx.Response]:
    """A composition of ``scale`` times a signature on encoder.bias: its id, the base, the delta and its first
    download."""
    base = save(TENSORS)
    sig_bytes, deltas = signature(["encoder.bias"], 7)
    push(client, namespace, "net", base)
    push(client, namespace, "fog", sig_bytes, kind="rws")
    recipe = {"base": f"{namespace}/net", "patches": [{"artifact": f"{namespace}/fog", "scale": scale}]}
    created = client.post("/v1/compositions", json=recipe)
    assert created.status_code == 201, created.text
    composition = created.json()["id"]
    return composition, base, deltas["encoder.bias"], client.get(f"/v1/compositions/{composition}/file")


def test_the_cache_holds_the_patched_tensors_and_serves_the_composed_bytes(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    store = live_server.runtime.store
    with live_server.client(namespace.write_token) as client:
        composition, base, delta, response = _composition(client, namespace.name, 0.5)
        first = response.content
        tensors_start = 8 + parse_header(first[8 : 8 + int.from_bytes(first[:8], "little")]).header_size
        expected = save(_composed_by_hand(delta, 0.5))
        assert len(first) == len(base) and first[:tensors_start] == base[:tensors_start]  # the base's header
        assert first == expected

        cached = patched_key(composition_output_key(composition))
        assert store.exists(cached) and not store.exists(composition_output_key(composition))
        assert store.size(cached) < 1024  # the 256 patched bytes and a header, not a copy of the 130 KiB file
        assert client.get(f"/v1/compositions/{composition}").json()["cached"] is True

        assert client.get(f"/v1/compositions/{composition}/file").content == first
        bias = parse_header(first[8:tensors_start]).tensors["encoder.bias"]
        start, end = tensors_start + bias.start, tensors_start + bias.end  # the patched bytes in the file
        for first_byte, last_byte in ((start - 10, start + 10), (end - 5, end + 40), (start - 3, end + 3), (0, 7)):
            part = client.get(
                f"/v1/compositions/{composition}/file", headers={"Range": f"bytes={first_byte}-{last_byte}"}
            )
            assert part.status_code == 206 and part.content == first[first_byte : last_byte + 1]
        tail = client.get(f"/v1/compositions/{composition}/file", headers={"Range": "bytes=-100"})
        assert tail.content == first[-100:]

        digest = hashlib.sha256(first).hexdigest()
        shown = lambda: client.get(f"/v1/compositions/{composition}").json()["sha256"]  # noqa: E731
        wait_until(lambda: shown() == digest, "the sha256 recorded from the cache")
        with transaction(live_server.runtime.session_factory) as session:  # as if the process stopped before
            row = session.get(Composition, composition)
            assert row is not None
            row.sha256 = None
        wait_until(lambda: shown() == digest, "the sha256 recorded again by the next read")


def test_a_digest_of_a_recorded_sha256_reads_nothing(
    live_server: LiveServer, namespace: NamespaceAccess, caplog: pytest.LogCaptureFixture
) -> None:
    """A request holding the row from before the sha256 was recorded (one that waited for the computation)
    starts no second hashing of the output."""
    with live_server.client(namespace.write_token) as client:
        composition, *_rest, response = _composition(client, namespace.name, 0.25)
        digest = hashlib.sha256(response.content).hexdigest()
        wait_until(lambda: client.get(f"/v1/compositions/{composition}").json()["sha256"] == digest, "its sha256")
    gone = Splice.whole("compositions/not-there", len(response.content))  # would fail to read, and say so
    thread = start_digest(live_server.runtime, composition, lambda: gone)
    assert thread is not None
    thread.join(30)
    assert not [r for r in caplog.records if "could not record the sha256" in r.getMessage()]


def test_a_cache_that_does_not_fit_its_base_is_computed_again(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    store = live_server.runtime.store
    with live_server.client(namespace.write_token) as client:
        composition, _base, delta, response = _composition(client, namespace.name, 2.0)
        first = response.content
        cached = patched_key(composition_output_key(composition))
        with store.open_writer(cached) as writer:  # a patched file made for another base, as tampering leaves
            writer.write(save({"encoder.bias": np.zeros(64, np.float32)}, metadata={"patchhub.composed_from": "x"}))
            writer.commit(cached)
        again = client.get(f"/v1/compositions/{composition}/file")
        assert again.status_code == 200 and again.content == first == save(_composed_by_hand(delta, 2.0))
        assert store.size(cached) < 1024 and client.get(f"/v1/compositions/{composition}/file").content == first


def test_where_downloads_redirect_the_whole_file_is_cached(direct_server: LiveServer) -> None:  # noqa: F811
    access = make_namespace(direct_server)
    store = direct_server.runtime.store
    with direct_server.client(access.write_token) as client:
        composition, _base, delta, first = _composition(client, access.name, -1.0)
        assert first.status_code == 200 and first.content == save(_composed_by_hand(delta, -1.0))
        assert store.size(composition_output_key(composition)) == len(first.content)
        assert not store.exists(patched_key(composition_output_key(composition)))
        shown = client.get(f"/v1/compositions/{composition}").json()  # hashed as it was written, not read back
        assert shown["sha256"] == hashlib.sha256(first.content).hexdigest()
        later = client.get(f"/v1/compositions/{composition}/file")
        assert later.status_code == 302
        assert httpx.get(later.headers["location"]).content == first.content
