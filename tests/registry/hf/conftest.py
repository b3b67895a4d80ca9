"""huggingface_hub pointed at the live test server: a private cache per test, nothing sent anywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants

from tests.fixtures.services import LiveServer


@pytest.fixture
def hf_cache(live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hub cache of this test. huggingface_hub reads its environment at import, so the values it read are
    replaced too: a call that forgets ``endpoint=`` still reaches the test server, never huggingface.co."""
    home = tmp_path / "hf-home"
    for name, value in {
        "HF_HOME": str(home),
        "HF_ENDPOINT": live_server.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(constants, "ENDPOINT", live_server.url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", live_server.url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    return home / "hub"
