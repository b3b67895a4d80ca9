"""Compositions: W = W_base + sum scale_i * dequant(RWS_i), streamed, deterministic, cached, Range and ETag."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from safetensors.numpy import load, save

from patchhub.signature import quantize_signature
from tests.fixtures.services import LiveServer, NamespaceAccess

SHAPES = {"conv1.weight": (8, 3, 3, 3), "conv1.bias": (8,), "fc.weight": (10, 32), "fc.bias": (10,)}


def _base(dtype: str = "float32", seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}


def _signature(names: list[str], seed: int, arch: str = "tiny", bits: int = 32) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(100 + seed)
    deltas = {name: (0.1 * rng.standard_normal(SHAPES[name])).astype(np.float32) for name in names}
    signature = quantize_signature(deltas, bits=bits, metadata={"arch": arch, "corruption": f"c{seed}"})
    return signature.to_bytes(), {name: signature.delta(name) for name in names}


def _upload(client, namespace: str, model: str, data: bytes, kind: str) -> str:  # type: ignore[no-untyped-def]
    client.post("/v1/models", json={"namespace": namespace, "name": model, "arch": "tiny"})
    response = client.put(f"/v1/models/{namespace}/{model}/artifacts", params={"kind": kind}, content=data)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_no_patches_or_zero_scales_give_the_base_bytes(
    live_server: LiveServer, namespace: NamespaceAccess, dtype: str
) -> None:
    base_bytes = save(_base(dtype))
    with live_server.client(namespace.write_token) as client:
        base = _upload(client, namespace.name, "net", base_bytes, "base")
        sig = _upload(client, namespace.name, "fog", _signature(["conv1.weight"], 1)[0], "rws")
        for patches in ([], [{"artifact": sig, "scale": 0.0}]):
            created = client.post("/v1/compositions", json={"base": base, "patches": patches})
            assert created.status_code == 201, created.text
            assert created.json()["sha256"] == hashlib.sha256(base_bytes).hexdigest()
            composed = client.get(f"/v1/compositions/{created.json()['id']}/file")
            assert composed.content == base_bytes


def test_composition_matches_the_formula_and_is_cached(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    base_tensors = _base()
    with live_server.client(namespace.write_token) as client:
        _upload(client, namespace.name, "net", save(base_tensors), "base")
        fog_bytes, fog = _signature(["conv1.weight", "conv1.bias"], 1)
        snow_bytes, snow = _signature(["conv1.weight", "fc.weight"], 2)
        fog_id = _upload(client, namespace.name, "fog", fog_bytes, "rws")
        snow_id = _upload(client, namespace.name, "snow", snow_bytes, "rws")
        recipe = {
            "base": f"{namespace.name}/net@latest",
            "patches": [{"artifact": fog_id, "scale": 0.5}, {"artifact": snow_id, "scale": -1.25}],
        }
        created = client.post("/v1/compositions", json=recipe).json()
        assert created["cached"] is False and created["sha256"] is None
        first = client.get(f"/v1/compositions/{created['id']}/file")
        assert first.status_code == 200
        composed = load(first.content)
        expected = {name: value.copy() for name, value in base_tensors.items()}
        expected["conv1.weight"] += np.float32(0.5) * fog["conv1.weight"] + np.float32(-1.25) * snow["conv1.weight"]
        expected["conv1.bias"] += np.float32(0.5) * fog["conv1.bias"]
        expected["fc.weight"] += np.float32(-1.25) * snow["fc.weight"]
        for name in SHAPES:
            np.testing.assert_allclose(composed[name], expected[name], rtol=1e-6, atol=1e-6)
        assert composed["fc.bias"].tobytes() == base_tensors["fc.bias"].tobytes()  # untouched: byte for byte

        reordered = {**recipe, "patches": list(reversed(recipe["patches"]))}
        again = client.post("/v1/compositions", json=reordered)
        assert again.status_code == 200
        assert again.json()["id"] == created["id"]
        assert again.json()["cached"] is True
        assert again.json()["sha256"] == hashlib.sha256(first.content).hexdigest()
        second = client.get(f"/v1/compositions/{created['id']}/file")
        assert second.content == first.content
        etag = second.headers["etag"]
        assert client.get(f"/v1/compositions/{created['id']}/file", headers={"If-None-Match": etag}).status_code == 304
        part = client.get(f"/v1/compositions/{created['id']}/file", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == first.content[100:200]


def test_range_on_an_uncomputed_composition(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        base = _upload(client, namespace.name, "net", save(_base(seed=3)), "base")
        sig = _upload(client, namespace.name, "fog", _signature(["fc.weight"], 4, bits=4)[0], "rws")
        created = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": sig}]}).json()
        tail = client.get(f"/v1/compositions/{created['id']}/file", headers={"Range": "bytes=-64"})
        assert tail.status_code == 206
        whole = client.get(f"/v1/compositions/{created['id']}/file").content
        assert tail.content == whole[-64:]


def test_mismatched_signatures_are_rejected_naming_the_tensors(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        base = _upload(client, namespace.name, "net", save(_base()), "base")
        wrong = quantize_signature({"fc.weight": np.ones((32, 10), np.float32)}, bits=8, metadata={"arch": "tiny"})
        wrong_id = _upload(client, namespace.name, "wrong", wrong.to_bytes(), "rws")
        response = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": wrong_id}]})
        assert response.status_code == 422
        assert "fc.weight" in response.json()["detail"]
        other_arch = _upload(client, namespace.name, "vgg", _signature(["fc.bias"], 5, arch="vgg16")[0], "rws")
        response = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": other_arch}]})
        assert response.status_code == 422 and "vgg16" in response.json()["detail"]
        not_rws = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": base}]})
        assert not_rws.status_code == 422 and "not an rws signature" in not_rws.json()["detail"]
        infinite = client.post(
            "/v1/compositions", json={"base": base, "patches": [{"artifact": other_arch, "scale": "inf"}]}
        )
        assert infinite.status_code == 422


def test_equivalent_recipes_are_one_composition_and_scales_are_numbers(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with live_server.client(namespace.write_token) as client:
        base = _upload(client, namespace.name, "net", save(_base()), "base")
        fog = _upload(client, namespace.name, "fog", _signature(["conv1.weight"], 1)[0], "rws")
        twice = client.post(
            "/v1/compositions",
            json={"base": base, "patches": [{"artifact": fog, "scale": 0.5}, {"artifact": fog, "scale": 0.5}]},
        )
        once = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": 1}]})
        assert twice.status_code == 201 and once.status_code == 200, (twice.text, once.text)
        assert once.json()["id"] == twice.json()["id"]
        assert once.json()["patches"] == [{"artifact": fog, "scale": 1.0}]
        minus_zero = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": -0.0}]})
        zero = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": 0.0}]})
        assert minus_zero.json()["id"] == zero.json()["id"]
        for scale in (True, "1.0", None):
            refused = client.post(
                "/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": scale}]}
            )
            assert refused.status_code == 422, (scale, refused.text)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_a_scale_that_overflows_the_base_dtype_is_refused_naming_the_tensor(
    live_server: LiveServer, namespace: NamespaceAccess, dtype: str
) -> None:
    with live_server.client(namespace.write_token) as client:
        base = _upload(client, namespace.name, "net", save(_base(dtype)), "base")
        fog = _upload(client, namespace.name, "fog", _signature(["conv1.weight", "fc.bias"], 1, bits=8)[0], "rws")
        scale = 1e300 if dtype == "float32" else 1e7
        refused = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": scale}]})
        assert refused.status_code == 422, refused.text
        assert "overflow" in refused.json()["detail"] and "conv1.weight" in refused.json()["detail"]
        fine = client.post("/v1/compositions", json={"base": base, "patches": [{"artifact": fog, "scale": -3.5}]})
        assert fine.status_code == 201, fine.text
        composed = load(client.get(f"/v1/compositions/{fine.json()['id']}/file").content)
        assert all(np.isfinite(values).all() for values in composed.values())
