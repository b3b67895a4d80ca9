"""A job's missing output models are created at submission with the architecture their artifacts will have and
a description naming the kind (they used to read "created by a job job", and datasets' arch "unknown")."""

from __future__ import annotations

from typing import Any

from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload


def test_output_models_get_the_kind_and_arch_of_what_the_job_makes(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    ns = namespace.name
    with live_server.client(namespace.write_token) as client:
        create_model(client, ns, "finetunes", arch="vgg16")
        clean = upload(client, ns, tiny_model_bytes(seed=1), name="finetunes").json()["id"]
        robust = upload(client, ns, tiny_model_bytes(seed=2), name="finetunes").json()["id"]
        submissions: dict[str, tuple[str, dict[str, Any]]] = {
            "imported": ("import_dataset", {}),
            "noisy": ("corrupt_dataset", {"corruption": "fog", "severity": 2}),
            "demos": ("generate_uva_demos", {}),
            "signature": ("extract_rws", {"clean": clean, "robust": robust}),
            "trained": ("train", {"arch": "resnet32", "arch_config": {"num_classes": 7}}),
            "pruned": ("lapp_prune", {"arch": "resnet56"}),
        }
        for name, (kind, params) in submissions.items():
            body = {"kind": kind, "namespace": ns, "params": {"output_model": f"{ns}/{name}", **params}}
            assert client.post("/v1/jobs", json=body).status_code == 201, name
        models = {name: client.get(f"/v1/models/{ns}/{name}").json() for name in submissions}
    shown = {name: (m["arch"], m["arch_config"], m["description"]) for name, m in models.items()}
    assert shown == {
        "imported": ("dataset", {}, "created by an import_dataset job"),
        "noisy": ("dataset", {}, "created by a corrupt_dataset job"),
        "demos": ("dataset", {}, "created by a generate_uva_demos job"),
        "signature": ("vgg16", {}, "created by an extract_rws job"),
        "trained": ("resnet32", {"num_classes": 7}, "created by a train job"),
        "pruned": ("resnet56", {}, "created by a lapp_prune job"),
    }
