"""The service's error bodies come back as typed exceptions carrying status, type and detail."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from patchhub import (
    AuthenticationError,
    Client,
    ConflictError,
    InvalidError,
    NotFoundError,
    PatchhubError,
    PermissionDeniedError,
)
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import NamespaceAccess


def test_service_errors_are_typed(
    make_client: Callable[..., Client], model_id: str, namespace: NamespaceAccess
) -> None:
    client = make_client()
    with pytest.raises(NotFoundError) as missing:
        client.models.get(f"{namespace.name}/does-not-exist")
    assert (missing.value.status_code, missing.value.error) == (404, "not_found")
    with pytest.raises(NotFoundError):
        client.artifacts.resolve(f"{model_id}@v99")

    with pytest.raises(ConflictError) as duplicate:
        client.models.create(model_id, arch="mlp")
    assert duplicate.value.status_code == 409 and duplicate.value.detail

    with pytest.raises(AuthenticationError) as unknown:
        make_client(token="ph_not-a-real-token").whoami()
    assert unknown.value.status_code == 401

    reader = make_client(token=namespace.read_token)
    with pytest.raises(PermissionDeniedError) as denied:
        reader.artifacts.upload(model_id, tiny_model_bytes(seed=12))
    assert denied.value.status_code == 403 and "write" in denied.value.detail
    assert reader.models.get(model_id).id == model_id  # reading is allowed

    with pytest.raises(InvalidError) as invalid:  # a header longer than the file: the service refuses it
        client.artifacts.upload(model_id, struct.pack("<Q", 100) + b"{}")
    assert invalid.value.status_code == 422
    assert isinstance(invalid.value, PatchhubError)
    assert client.models.get(model_id).latest_version is None  # nothing stored by the failed requests


def test_bad_references_fail_before_any_request(make_client: Callable[..., Client]) -> None:
    client = make_client()
    for ref in ("team/net@", "v3@x", "a/b/c"):
        with pytest.raises(ValueError):
            client.artifacts.resolve(ref)
