"""Local composition through the SDK and the CLI, against the real service (embedded default backend)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from safetensors.numpy import save

from patchhub import Client
from patchhub.cli import main
from patchhub.compose import CompositionError
from patchhub.local_compose import parse_patch
from patchhub.signature import quantize_signature
from tests.client.conftest import RecordingTransport
from tests.fixtures.services import LiveServer, NamespaceAccess

# Local composition runs on the client; one backend is enough to serve its inputs.
embedded_only = pytest.mark.parametrize("live_server", ["sqlite-local"], indirect=True)

SHAPES = {"stem.weight": (8, 3, 3, 3), "stem.bias": (8,), "head.weight": (10, 32)}


def base_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {name: rng.normal(size=shape).astype(np.float32) for name, shape in SHAPES.items()}
    tensors["steps"] = np.arange(4, dtype=np.int64)  # a non-float buffer: copied, never patched
    return tensors


def random_delta(name: str, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.1, size=SHAPES[name]).astype(np.float32)


def file_downloads(transport: RecordingTransport) -> list[str]:
    return [path for path in transport.paths("GET") if path.endswith("/file")]


@pytest.fixture
def published(make_client: Callable[..., Client], namespace: NamespaceAccess) -> dict[str, str]:
    """A base and three signatures on it: 32-bit and 8-bit, plus one covering a tensor the base lacks."""
    client = make_client()
    suffix = uuid.uuid4().hex[:6]
    base_model, sig_model = f"{namespace.name}/net-{suffix}", f"{namespace.name}/fog-{suffix}"
    client.models.create(base_model, arch="toy")
    client.models.create(sig_model, arch="toy")
    base = client.artifacts.upload(base_model, save(base_tensors()), kind="base")
    exact = quantize_signature({"stem.weight": random_delta("stem.weight", 1)}, bits=32)
    coarse = quantize_signature(
        {"stem.weight": random_delta("stem.weight", 2), "head.weight": random_delta("head.weight", 3)}, bits=8
    )
    misfit = quantize_signature({"missing.weight": np.ones((2, 2), np.float32)}, bits=32)
    other_arch = quantize_signature({"stem.bias": np.ones(8, np.float32)}, bits=32, metadata={"arch": "resnet20"})
    refs = {"base": base.ref}
    signatures = {"exact": exact, "coarse": coarse, "misfit": misfit, "other_arch": other_arch}
    for label, signature in signatures.items():
        refs[label] = client.artifacts.upload(sig_model, signature.to_bytes(), kind="rws", parents=[base.ref]).ref
    return refs


def recording_client(make_client: Callable[..., Client]) -> tuple[Client, RecordingTransport]:
    transport = RecordingTransport()
    return make_client(http_client=httpx.Client(transport=transport)), transport


@embedded_only
def test_no_patches_gives_the_base_bytes(make_client: Callable[..., Client], published: dict[str, str]) -> None:
    client = make_client()
    composed = client.compose(published["base"])
    assert composed.read_bytes() == client.artifacts.download(published["base"]).read_bytes()


@embedded_only
def test_compose_equals_numpy_and_the_service_and_downloads_each_input_once(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    make_client: Callable[..., Client],
    published: dict[str, str],
    cache_dir: Path,
) -> None:
    client, transport = recording_client(make_client)
    weights = base_tensors()
    exact_delta, coarse_stem, coarse_head = (
        random_delta("stem.weight", 1),
        random_delta("stem.weight", 2),
        random_delta("head.weight", 3),
    )

    first = client.compose(published["base"], [(published["exact"], 0.5)], as_state_dict=True)
    np.testing.assert_allclose(first["stem.weight"], weights["stem.weight"] + 0.5 * exact_delta, rtol=1e-6, atol=1e-7)
    for untouched in ("stem.bias", "head.weight", "steps"):
        np.testing.assert_array_equal(first[untouched], weights[untouched])
    assert len(file_downloads(transport)) == 2  # the base and one signature

    # A second recipe on the same base fetches only its new signature.
    recipe = [(published["coarse"], -1.5), (published["exact"], 0.5)]
    second = client.compose(published["base"], recipe, as_state_dict=True)
    assert len(file_downloads(transport)) == 3
    # 8-bit codes are within half a quantization step of the true delta.
    for name, delta, extra in (("stem.weight", coarse_stem, 0.5 * exact_delta), ("head.weight", coarse_head, 0)):
        step = (delta.max() - delta.min()) / 255
        error = np.abs(second[name] - (weights[name] + extra - 1.5 * delta))
        assert error.max() <= 1.5 * step / 2 + 1e-5, name

    # The same recipe again, patches listed in another order, from a new client: nothing is downloaded
    # and the cached composition is returned as it is.
    again, again_transport = recording_client(make_client)
    path = again.compose(published["base"], list(reversed(recipe)))
    assert file_downloads(again_transport) == []
    assert path.parent == cache_dir / "compositions"
    assert len(list(path.parent.iterdir())) == 2  # two recipes, two files, no leftovers
    # The service composes the same recipe to the same bytes.
    with live_server.client(namespace.read_token) as http:
        body = {"base": published["base"], "patches": [{"artifact": ref, "scale": s} for ref, s in recipe]}
        created = http.post("/v1/compositions", json=body)
        assert created.status_code in (200, 201), created.text
        served = http.get(f"/v1/compositions/{created.json()['id']}/file")
    assert served.content == path.read_bytes()
    assert path.stem == created.json()["id"]  # one recipe hash on both sides
    torch_weights = again.compose(published["base"], recipe, as_state_dict=True, framework="torch")
    np.testing.assert_array_equal(torch_weights["head.weight"].numpy(), second["head.weight"])


@embedded_only
def test_bad_patches_are_refused_before_anything_is_written(
    make_client: Callable[..., Client], published: dict[str, str], cache_dir: Path
) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="only rws signatures patch"):
        client.compose(published["base"], [published["base"]])
    with pytest.raises(ValueError, match="a base is one of"):
        client.compose(published["exact"])
    with pytest.raises(ValueError, match="architecture 'resnet20' cannot patch a 'toy' base"):
        client.compose(published["base"], [published["other_arch"]])
    with pytest.raises(ValueError, match="finite"):
        client.compose(published["base"], [(published["exact"], float("nan"))])
    with pytest.raises(CompositionError, match=r"missing\.weight") as caught:
        client.compose(published["base"], [published["misfit"]])
    assert caught.value.tensors == ["missing.weight"]
    assert list((cache_dir / "compositions").iterdir()) == []


@embedded_only
def test_cli_compose_writes_the_file(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    make_client: Callable[..., Client],
    published: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATCHHUB_URL", live_server.url)
    monkeypatch.setenv("PATCHHUB_TOKEN", namespace.read_token)
    monkeypatch.setenv("PATCHHUB_CACHE", str(tmp_path / "cli-cache"))
    out = tmp_path / "out.safetensors"
    code = main(["compose", published["base"], f"+{published['exact']}*-0.25", "-o", str(out)])
    printed, errors = capsys.readouterr()
    assert code == 0, errors
    assert printed.strip() == str(out)
    expected = make_client().compose(published["base"], [(published["exact"], -0.25)])
    assert out.read_bytes() == expected.read_bytes()

    folder = tmp_path / "composed"  # does not exist: the trailing slash makes it a folder, as with cp
    code = main(["compose", published["base"], f"+{published['exact']}*-0.25", "-o", f"{folder}/", "--json"])
    written = Path(json.loads(capsys.readouterr().out)["path"])
    assert code == 0 and written.parent == folder and written.read_bytes() == expected.read_bytes()

    code = main(["compose", published["base"], f"{published['exact']}*0.5"])  # a patch needs its '+'
    assert code == 2 and "+REF or +REF*SCALE" in capsys.readouterr().err


def test_parse_patch_syntax() -> None:
    assert parse_patch("+team/fog@v1*-0.5") == ("team/fog@v1", -0.5)
    assert parse_patch("+team/fog@prod") == ("team/fog@prod", 1.0)
    assert parse_patch("+0123abcd*1e-1") == ("0123abcd", 0.1)
    for bad in ("team/fog@v1*0.5", "+team/fog@v1*half", "+*0.5", "+team/fog*inf"):
        with pytest.raises(ValueError):
            parse_patch(bad)
