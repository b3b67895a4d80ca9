"""Where the client takes its URL and token from, and that a stored token only goes to its own service."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from patchhub import Client
from patchhub.config import StoredLogin, read_login, resolve_base_url, resolve_token, write_login


def test_explicit_beats_environment_beats_stored_login(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_login(StoredLogin(url="http://stored.example:8000/", token="stored-secret"))
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    assert resolve_base_url() == "http://stored.example:8000"
    assert resolve_token("http://stored.example:8000") == "stored-secret"

    monkeypatch.setenv("PATCHHUB_URL", "http://env.example")
    assert resolve_base_url() == "http://env.example"
    assert resolve_token("http://env.example") is None  # the stored token is not sent to another service
    monkeypatch.setenv("PATCHHUB_TOKEN", "env-secret")
    assert resolve_token("http://env.example") == "env-secret"
    assert resolve_base_url("http://explicit.example") == "http://explicit.example"
    assert resolve_token("http://env.example", "explicit-secret") == "explicit-secret"


def test_secrets_stay_out_of_reprs(isolated_config: Path, tmp_path: Path) -> None:
    write_login(StoredLogin(url="http://a.example", token="very-secret"))
    assert "very-secret" not in repr(read_login())
    with Client("http://a.example", progress=False, cache_dir=tmp_path) as client:
        assert "very-secret" not in repr(client)


def test_unreadable_config_is_ignored(isolated_config: Path) -> None:
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text("{not json")
    assert read_login() == StoredLogin()
    assert resolve_base_url() == "http://127.0.0.1:8000"
