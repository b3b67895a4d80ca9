"""Where the client takes its URL and token from, and that a stored token only goes to its own service."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from patchhub import Client
from patchhub.config import (
    StoredLogin,
    normalize_url,
    read_login,
    resolve_base_url,
    resolve_credentials,
    resolve_token,
    write_login,
)


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


def test_one_spelling_per_service(isolated_config: Path) -> None:
    assert normalize_url("HTTP://Registry.Example:80/") == "http://registry.example"
    assert normalize_url("https://registry.example:443/api/") == "https://registry.example/api"
    assert normalize_url("127.0.0.1:8000") == "http://127.0.0.1:8000"
    write_login(StoredLogin(url="http://registry.example:80/", token="stored-secret"))
    assert resolve_token("HTTP://REGISTRY.EXAMPLE") == "stored-secret"
    assert resolve_token("http://registry.example:8080") is None  # another port is another service
    refused = resolve_credentials("http://other.example")
    assert refused.token is None and refused.stored_url == "http://registry.example:80/"
    assert "the stored login is for http://registry.example:80/" in refused.refusal_hint("http://other.example")
