"""huggingface_hub pointed at a live test server: a private cache per test, nothing sent anywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants

from tests.fixtures.s3_direct import direct_server  # noqa: F401
from tests.fixtures.services import LiveServer


def point_hub_at(url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """huggingface_hub reads its environment at import, so the values it read are replaced too: a call that
    forgets ``endpoint=`` still reaches the test server, never huggingface.co. Returns the hub cache."""
    for name, value in {
        "HF_HOME": str(home),
        "HF_ENDPOINT": url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    return home / "hub"


@pytest.fixture
def hf_cache(live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hub cache of this test, the hub being ``live_server``."""
    return point_hub_at(live_server.url, tmp_path / "hf-home", monkeypatch)


@pytest.fixture
def direct_hf_cache(
    direct_server: LiveServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """As ``hf_cache``, the hub being a server on S3 that redirects downloads to presigned URLs."""
    return point_hub_at(direct_server.url, tmp_path / "hf-home", monkeypatch)
