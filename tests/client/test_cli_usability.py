"""The ``patchhub`` CLI as a newcomer types it: options anywhere, reruns that are no-ops, remote admin, and
errors that name what they are about and the fix. Through ``main(argv)`` against the real service."""

from __future__ import annotations

import json
import pickle
import uuid
import zipfile
from pathlib import Path

import pytest

from patchhub.cli import main
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess, free_port

# What is tested here is the client; the service's backends are covered by the SDK tests.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite-local"], indirect=True)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def model(namespace: NamespaceAccess, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PATCHHUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return f"{namespace.name}/net-{uuid.uuid4().hex[:6]}"


def test_global_options_after_the_command_and_json_everywhere(
    live_server: LiveServer, namespace: NamespaceAccess, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, token = live_server.url, namespace.write_token
    code, out, err = run(capsys, "login", "--url", url, "--token", token)
    assert code == 0, err
    assert f"Logged in to {url}" in out
    code, out, _ = run(capsys, "whoami", "--json")
    assert json.loads(out)["namespace"] == namespace.name
    code, out, err = run(capsys, "whoami", "--token", "ph_wrong")  # the option beats the stored login
    assert code == 1 and "unauthorized" in err and "refused the token from the token argument" in err

    code, out, _ = run(capsys, "models", "create", model, "--arch", "mlp", "--json")
    assert json.loads(out)["id"] == model
    source = tmp_path / "weights.safetensors"
    source.write_bytes(tiny_model_bytes(seed=41))
    assert run(capsys, "push", str(source), model, "-q")[0] == 0
    code, out, _ = run(capsys, "ls", model, "--json")
    assert [a["version"] for a in json.loads(out)] == [1]
    code, out, _ = run(capsys, "jobs", "ls", "--json")
    assert json.loads(out) == []
    code, out, _ = run(capsys, "models", "--json")  # a bare group runs its listing
    assert model in [m["id"] for m in json.loads(out)]

    # -o DIR/ like cp: a trailing slash names a folder, created when missing; an existing folder too.
    code, out, _ = run(capsys, "pull", model, "-o", "weights/", "-q")
    pulled = Path(out.strip()).absolute()
    assert code == 0 and pulled.parent == tmp_path / "weights" and pulled.read_bytes() == source.read_bytes()
    code, out, _ = run(capsys, "pull", f"{model}@v1", "-o", "weights", "--json")
    assert Path(json.loads(out)["path"]).absolute() == pulled
    code, out, _ = run(capsys, "pull", model, "-o", "copy.safetensors")
    assert (tmp_path / "copy.safetensors").read_bytes() == source.read_bytes()

    assert run(capsys, "alias", "set", model, "prod", "1")[0] == 0
    code, out, _ = run(capsys, "alias", model)  # no action: list
    assert code == 0 and [row.split()[:2] for row in out.splitlines()[1:]] == [["latest", "v1"], ["prod", "v1"]]
    code, out, _ = run(capsys, "alias", model, "--json")
    assert {a["alias"] for a in json.loads(out)} == {"latest", "prod"}

    for argv in (["report", f"{model}@v1"], ["tensors", model], ["logout"], ["completion", "bash"]):
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, err
        json.loads(out)
    code, out, _ = run(capsys, "completion", "bash")
    assert "_PATCHHUB_COMPLETE" in out and "complete " in out


def test_reruns_are_no_ops(
    live_server: LiveServer, namespace: NamespaceAccess, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = ["--url", live_server.url, "--token", namespace.write_token]
    assert run(capsys, "models", "create", model, "--arch", "mlp", *auth)[0] == 0
    code, out, err = run(capsys, "models", "create", model, "--arch", "mlp", *auth)
    assert code == 1 and "--exist-ok" in err
    code, out, err = run(capsys, "models", "create", model, "--arch", "mlp", "--exist-ok", *auth)
    assert code == 0 and model in out
    code, out, err = run(capsys, "models", "create", model, "--arch", "resnet20", "--exist-ok", *auth)
    assert code == 1 and "exists with arch mlp" in err

    source = tmp_path / "weights.safetensors"
    source.write_bytes(tiny_model_bytes(seed=42))
    assert run(capsys, "push", str(source), model, *auth)[0] == 0
    code, out, _ = run(capsys, "push", str(source), model, *auth)
    assert code == 0 and out.startswith(f"Unchanged: {model}@v1 already holds these bytes")
    code, out, _ = run(capsys, "push", str(source), model, "--json", *auth)
    assert json.loads(out)["unchanged"] is True and json.loads(out)["version"] == 1
    code, out, _ = run(capsys, "push", str(source), model, "--force-new-version", "--json", *auth)
    assert json.loads(out)["version"] == 2 and json.loads(out)["unchanged"] is False
    code, out, _ = run(capsys, "push", str(source), model, "--kind", "checkpoint", "--json", *auth)
    assert json.loads(out)["version"] == 3  # another kind is another artifact
    code, out, _ = run(capsys, "ls", model, *auth)
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["v1", "v2", "v3"]


def test_remote_admin_namespaces_and_tokens(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    admin = ["--url", live_server.url, "--token", live_server.admin_token]
    name = f"team-{uuid.uuid4().hex[:6]}"
    code, out, err = run(capsys, "namespaces", "create", name, "--description", "a team", *admin)
    assert code == 0, err
    code, out, err = run(capsys, "namespaces", "create", name, *admin)
    assert code == 1 and "conflict" in err
    assert run(capsys, "namespaces", "create", name, "--exist-ok", *admin)[0] == 0
    code, out, _ = run(capsys, "namespaces", "list", "--json", *admin)
    assert {"name": name, "description": "a team"}.items() <= next(
        n for n in json.loads(out) if n["name"] == name
    ).items()

    code, out, err = run(capsys, "tokens", "create", "--name", "ci", "--role", "write", "--namespace", name, *admin)
    assert code == 0, err
    secret = out.strip().splitlines()[-1]
    code, out, _ = run(capsys, "whoami", "--json", "--url", live_server.url, "--token", secret)
    assert json.loads(out) == {"token_name": "ci", "role": "write", "namespace": name}
    code, out, _ = run(capsys, "tokens", "--json", *admin)  # bare group: list
    listed = next(t for t in json.loads(out) if t["name"] == "ci" and t["namespace"] == name)
    assert secret not in out and listed["revoked_at"] is None
    code, out, err = run(capsys, "tokens", "revoke", str(listed["id"]), *admin)
    assert code == 0 and "revoked" in out
    code, out, err = run(capsys, "whoami", "--url", live_server.url, "--token", secret)
    assert code == 1 and "unauthorized" in err


def test_errors_name_the_url_the_model_and_the_fix(
    live_server: LiveServer, namespace: NamespaceAccess, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = live_server.url.rsplit(":", 1)[1]
    assert run(capsys, "login", "--url", f"http://127.0.0.1:{port}/", "--token", namespace.write_token)[0] == 0
    assert run(capsys, "whoami", "--url", f"HTTP://127.0.0.1:{port}")[0] == 0  # the same URL, spelt otherwise
    code, out, err = run(capsys, "whoami", "--url", f"http://localhost:{port}")
    assert code == 1
    assert f"no token was sent to http://localhost:{port}: the stored login is for http://127.0.0.1:{port}" in err
    assert f"patchhub login --url http://localhost:{port}" in err

    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "ls", model, "--url", closed)
    assert code == 1 and f"cannot connect to {closed}" in err and "--url" in err

    assert run(capsys, "models", "create", model, "--arch", "mlp")[0] == 0
    code, out, err = run(capsys, "pull", f"{model}@prod")
    assert code == 1 and f"model {model} has no version or alias 'prod'" in err

    checkpoint = tmp_path / "model.pt"
    with zipfile.ZipFile(checkpoint, "w") as archive:  # what torch.save writes: a zip holding a pickle
        archive.writestr("model/data.pkl", pickle.dumps({"weight": [1.0]}))
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=2))
    for path in (checkpoint, legacy):
        code, out, err = run(capsys, "push", str(path), model)
        assert code == 1 and "is a Python pickle" in err and "safetensors.torch import save_file" in err
    code, out, _ = run(capsys, "ls", model)
    assert out.strip() == "(none)"  # nothing was sent
    (tmp_path / "notes.txt").write_text("hello there, not weights")
    code, out, err = run(capsys, "push", str(tmp_path / "notes.txt"), model)
    assert code == 1 and "is not a safetensors file" in err
