"""Progress goes to stderr only on a terminal unless forced, and shows hashing and the service's completion."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchhub import Client
from patchhub.cli import main
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess

pytestmark = pytest.mark.parametrize("live_server", ["sqlite-local"], indirect=True)


def test_bars_only_on_a_terminal_unless_forced(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    model_id: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "weights.safetensors"
    source.write_bytes(tiny_model_bytes(seed=51))
    capsys.readouterr()
    with Client(live_server.url, namespace.write_token, cache_dir=tmp_path / "cache") as client:  # stderr: a pipe
        assert client.progress is False
        client.artifacts.upload(model_id, source)
        client.artifacts.download(model_id, tmp_path / "a.safetensors")
    assert capsys.readouterr().err == ""

    multipart = {"multipart_threshold": 1024, "part_size": 1024}
    with Client(
        live_server.url, namespace.write_token, progress=True, cache_dir=tmp_path / "c2", **multipart
    ) as client:
        client.artifacts.upload(model_id, source, force_new_version=True)
    err = capsys.readouterr().err
    assert "hash weights.safetensors" in err and f"upload {model_id}" in err
    assert "the service is joining and verifying the parts" in err

    auth = ["--url", live_server.url, "--token", namespace.write_token]
    assert main(["push", str(source), model_id, "--force-new-version", *auth]) == 0
    assert capsys.readouterr().err == ""
    assert main(["push", str(source), model_id, "--force-new-version", "--progress", *auth]) == 0
    assert "hash weights.safetensors" in capsys.readouterr().err
    assert main(["push", str(source), model_id, "--force-new-version", "--progress", "-q", *auth]) == 0
    assert capsys.readouterr().err == ""
