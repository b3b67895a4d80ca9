"""The pages that list models, versions and jobs cost the same SQL statements whatever they hold: they call the
API's listing, which reads a page's related rows in one statement each."""

from __future__ import annotations

import httpx

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.fixtures.statements import counted_statements
from tests.registry.artifact_helpers import create_model, upload
from tests.ui.web_session import signed_in

ROWS = (1, 10, 40)


def _statements(server: LiveServer, web: httpx.Client, path: str, shows: str) -> int:
    with counted_statements(server) as statements:
        page = web.get(path)
    assert page.status_code == 200, page.text
    assert shows in page.text
    return len(statements)


def test_list_pages_cost_the_same_statements_whatever_they_hold(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    ns = namespace.name
    job = {"kind": "train", "namespace": ns, "params": {"output_model": f"{ns}/trained", "arch": "resnet20"}}
    counts: dict[str, list[int]] = {"home": [], "model": [], "jobs": []}
    models = versions = jobs = 0
    with live_server.client(namespace.write_token) as api, signed_in(live_server, namespace.write_token) as web:
        create_model(api, ns, "net")
        models += 1
        for rows in ROWS:
            for index in range(models, rows):
                create_model(api, ns, f"m{index}")
            for seed in range(versions, rows):
                upload(api, ns, tiny_model_bytes(seed=seed, layers=1)).raise_for_status()
            for _ in range(jobs, rows):
                api.post("/v1/jobs", json=job).raise_for_status()
            models = versions = jobs = rows
            counts["home"].append(_statements(live_server, web, "/", f"/models/{ns}/net"))
            counts["model"].append(_statements(live_server, web, f"/models/{ns}/net", f"v{rows}"))
            counts["jobs"].append(_statements(live_server, web, "/jobs", "train"))
    assert counts == {page: [found[0]] * len(ROWS) for page, found in counts.items()}
