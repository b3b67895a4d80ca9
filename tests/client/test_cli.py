"""The ``patchhub`` command line, run through ``main(argv)`` against the real service."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from patchhub.cli import main
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_push_ls_pull_tensors_alias(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATCHHUB_URL", live_server.url)
    monkeypatch.setenv("PATCHHUB_TOKEN", namespace.write_token)
    monkeypatch.setenv("PATCHHUB_CACHE", str(tmp_path / "cache"))
    model = f"{namespace.name}/cli-{uuid.uuid4().hex[:6]}"
    assert run(capsys, "models", "create", model, "--arch", "mlp", "--tag", "demo")[0] == 0

    source = tmp_path / "weights.safetensors"
    source.write_bytes(tiny_model_bytes(seed=30))
    code, out, _ = run(capsys, "push", str(source), model, "--metadata", '{"acc": 0.5}')
    assert code == 0 and f"{model}@v1" in out
    code, out, _ = run(capsys, "--json", "push", str(source), model, "--kind", "checkpoint", "--parent", f"{model}@v1")
    pushed = json.loads(out)
    assert pushed["version"] == 2 and pushed["parents"][0]["version"] == 1

    code, out, _ = run(capsys, "ls", model)
    lines = out.splitlines()
    assert lines[0].split() == ["VERSION", "KIND", "SIZE", "SHA256", "ID", "ALIASES"]
    assert [line.split()[:2] for line in lines[1:]] == [["v1", "base"], ["v2", "checkpoint"]]

    assert run(capsys, "alias", "set", model, "prod", "v1")[0] == 0
    target = tmp_path / "pulled.safetensors"
    code, out, _ = run(capsys, "pull", f"{model}@prod", "-o", str(target))
    assert code == 0 and out.strip() == str(target)
    assert target.read_bytes() == source.read_bytes()

    code, out, _ = run(capsys, "tensors", f"{model}@prod")
    assert "layers.0.weight  F32    16x16" in out and "816 parameters" in out
    code, out, _ = run(capsys, "models", "show", model)
    assert "prod=v1" in out and "demo" in out
    assert run(capsys, "alias", "rm", model, "prod")[0] == 0
    code, _, err = run(capsys, "pull", f"{model}@prod", "-o", str(tmp_path))
    assert code == 1 and err.count("\n") == 1 and "not_found" in err


def test_login_stores_a_private_config_and_never_prints_the_token(
    live_server: LiveServer,
    namespace: NamespaceAccess,
    isolated_config: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = namespace.read_token
    code, out, err = run(capsys, "--url", live_server.url, "--token", "ph_wrong", "login")
    assert code == 1 and "unauthorized" in err and not isolated_config.exists()

    code, out, err = run(capsys, "--url", live_server.url, "--token", token, "login")
    assert code == 0 and "read on" in out
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    assert json.loads(isolated_config.read_text()) == {"url": live_server.url, "token": token}

    code, out, err = run(capsys, "whoami")  # URL and token now come from the stored login
    assert code == 0 and namespace.name in out
    code, out, err = run(capsys, "models", "create", f"{namespace.name}/x", "--arch", "mlp")
    assert code == 1 and "forbidden" in err
    assert run(capsys, "logout")[0] == 0
    code, out, err = run(capsys, "whoami")
    assert code == 1
    for text in (out, err):
        assert token not in text


def test_shell_completion_offers_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
        env["_PATCHHUB_COMPLETE"] = "bash_complete"
        done = subprocess.run(["patchhub"], env=env, capture_output=True, text=True, timeout=60, check=True)
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("patchhub alias ") == ["ls", "rm", "set"]  # a bare group still offers its actions
    assert complete("patchhub jobs submit --w") == ["--wait"]
    assert "--force-new-version" in complete("patchhub push --")
