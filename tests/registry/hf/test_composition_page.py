"""The composition page shows the transformers call that loads it, and that revision loads those bytes."""

from __future__ import annotations

import html
import re
from pathlib import Path

from huggingface_hub import hf_hub_download

from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.hf.repos import push, signature, weights
from tests.ui.web_session import signed_in

_SNIPPET = re.compile(r'<pre class="snippet" id="hf-snippet">(.*?)</pre>', re.DOTALL)
_CALL = re.compile(r"from_pretrained\('([^']+)', revision='([0-9a-f]{64})'\)")


def test_the_page_names_the_repo_and_the_revision(
    live_server: LiveServer, namespace: NamespaceAccess, hf_cache: Path
) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        push(client, ns, "net", weights(80))
        push(client, ns, "fog", signature(["head.weight"], 12)[0], kind="rws")
        recipe = {"base": f"{ns}/net@v1", "patches": [{"artifact": f"{ns}/fog", "scale": 0.5}]}
        composition_id = client.post("/v1/compositions", json=recipe).json()["id"]
        expected = client.get(f"/v1/compositions/{composition_id}/file").content
    with signed_in(live_server, namespace.read_token) as browser:
        page = browser.get(f"/compositions/{composition_id}")
    assert page.status_code == 200
    snippet = _SNIPPET.search(page.text)
    assert snippet is not None
    text = html.unescape(snippet.group(1))
    assert f"HF_ENDPOINT={live_server.url}" in text
    call = _CALL.search(text)
    assert call is not None and call.groups() == (f"{ns}/net", composition_id)
    path = hf_hub_download(
        call.group(1),
        "model.safetensors",
        revision=call.group(2),
        endpoint=live_server.url,
        token=namespace.read_token,
        cache_dir=hf_cache,
    )
    assert Path(path).read_bytes() == expected
