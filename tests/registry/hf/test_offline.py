"""After a first download, HF_HUB_OFFLINE=1 serves the cache with no server at all (huggingface_hub reads the
variable at import, so the offline reads run in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from huggingface_hub import hf_hub_download

from tests.fixtures.services import LiveServer, NamespaceAccess, free_port
from tests.registry.hf.repos import push, signature, weights
from tests.registry.hf.sandbox import sealed_environment

READ_OFFLINE = """
import sys
from pathlib import Path
from huggingface_hub import hf_hub_download
repo, revision = sys.argv[1], sys.argv[2]
print(Path(hf_hub_download(repo, "model.safetensors", revision=revision)).read_bytes().hex())
"""


def test_offline_mode_reads_what_was_downloaded(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(20))
        push(client, ns, "fog", signature(["head.weight"], 6)[0], kind="rws")
    repo, composed = f"{ns}/net", f"main+{ns}~fog=0.5"
    online = {
        revision: Path(
            hf_hub_download(
                repo,
                "model.safetensors",
                revision=revision,
                endpoint=live_server.url,
                token=namespace.read_token,
                cache_dir=hf_cache,
            )
        ).read_bytes()
        for revision in ("main", composed)
    }
    environment = sealed_environment(
        HF_HUB_CACHE=str(hf_cache),
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nothing listens: any request would fail
    )
    for revision, data in online.items():
        result = subprocess.run(
            [sys.executable, "-c", READ_OFFLINE, repo, revision],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert bytes.fromhex(result.stdout.strip()) == data
    missing = subprocess.run(
        [sys.executable, "-c", READ_OFFLINE, repo, "v2"], env=environment, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode != 0 and "offline" in missing.stderr.lower()
