"""``hf auth login`` with a patchhub token: huggingface_hub checks it with whoami, stores it, and later calls
send it without HF_TOKEN (in a fresh interpreter: the token file's path is read at import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, weights
from tests.registry.hf.sandbox import sealed_environment

LOGIN_THEN_DOWNLOAD = """
import sys
from pathlib import Path
from huggingface_hub import hf_hub_download, login, whoami
login(token=sys.argv[2])
me = whoami()
print(me["name"], me["auth"]["accessToken"]["role"], [org["name"] for org in me["orgs"]])
print(Path(hf_hub_download(sys.argv[1], "model.safetensors")).read_bytes().hex())
"""


def test_login_stores_the_token_for_later_downloads(
    live_server: LiveServer, namespace: NamespaceAccess, tmp_path: Path
) -> None:
    data = weights(70)
    with live_server.client(namespace.write_token) as client:
        push(client, namespace.name, "net", data)
    environment = sealed_environment(HF_ENDPOINT=live_server.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0")
    environment.pop("HF_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-c", LOGIN_THEN_DOWNLOAD, f"{namespace.name}/net", namespace.read_token],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    identity, content = result.stdout.strip().splitlines()[-2:]
    assert identity == f"r read ['{namespace.name}']"  # make_namespace names its read token "r"
    assert bytes.fromhex(content) == data
    assert (tmp_path / "hf" / "token").read_text().strip() == namespace.read_token
