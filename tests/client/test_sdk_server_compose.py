"""Compositions computed by the service, through the SDK (``client.compositions``) and ``compose --on-server``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from patchhub import Client
from patchhub.cli import main
from tests.client.test_sdk_compose import file_downloads, published, recording_client  # noqa: F401
from tests.fixtures.services import LiveServer, NamespaceAccess


def test_the_service_composes_the_same_bytes_and_they_are_fetched_once(
    make_client: Callable[..., Client],
    published: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    patches = [(published["exact"], -0.25), (published["coarse"], 0.5)]
    client, transport = recording_client(make_client)
    composition = client.compositions.create(published["base"], patches)
    path = client.compositions.download(composition)
    here = make_client(cache_dir=tmp_path / "elsewhere").compose(published["base"], patches)
    assert path.read_bytes() == here.read_bytes()
    assert composition.size == here.stat().st_size
    assert not list(path.parent.glob("*.incomplete"))

    again = client.compositions.download(composition.id)
    assert again == path
    assert len(file_downloads(transport)) == 1  # the second download came from the cache


def test_cli_compose_on_server_writes_the_file(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    make_client: Callable[..., Client],
    published: dict[str, str],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATCHHUB_URL", live_server.url)
    monkeypatch.setenv("PATCHHUB_TOKEN", namespace.read_token)
    monkeypatch.setenv("PATCHHUB_CACHE", str(tmp_path / "cli-cache"))
    folder = tmp_path / "served"  # created: the trailing slash makes it a folder, as with cp
    code = main(
        ["compose", published["base"], f"+{published['exact']}*0.75", "--on-server", "-o", f"{folder}/", "--json"]
    )
    printed, errors = capsys.readouterr()
    assert code == 0, errors
    answer = json.loads(printed)
    written = Path(answer["path"])
    assert written.parent == folder and written.name == f"{answer['composition']}.safetensors"
    expected = make_client().compose(published["base"], [(published["exact"], 0.75)])
    assert written.read_bytes() == expected.read_bytes()
