"""The RWS pipeline as jobs: corrupt a dataset, fine-tune clean and robust models from one reference, extract a
signature, and evaluate robustness per corruption and severity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry.contract.kinds.corruption_names import CORRUPTION_NAMES
from registry.db.session import transaction
from registry.domain.artifacts import register_artifact
from registry.domain.models import create_model
from registry.models import Artifact, ArtifactParent
from registry.models.artifact import ArtifactKind
from registry.resources.namespaces.service import get_namespace
from registry.storage.ingest import Ingest
from tests.workers.jobs.inprocess import Runtime, run
from workers.jobs.io import build_model, checkpoint_bytes
from workers.rws.corruptions import CORRUPTIONS

TRAIN = {"arch": "resnet20", "image_size": 8, "epochs": 1, "batch_size": 64, "lr": 0.05, "device": "cpu"}
NOISE = {"output_model": "lab/digits-noise", "corruption": "gaussian_noise", "severity": 3, "image_size": 8}


def test_registry_and_workers_agree_on_corruption_names() -> None:
    assert list(CORRUPTION_NAMES) == list(CORRUPTIONS)


def _upload_reference(runtime: Runtime) -> str:
    """Shared starting weights: a freshly initialised ResNet-20 registered as a base."""
    model, config = build_model("resnet20", {})
    ingest = Ingest(runtime.store, runtime.header_limits, max_bytes=1 << 30)
    ingest.write(checkpoint_bytes(model, "resnet20", config))
    stored = ingest.finish()
    with transaction(runtime.session_factory) as session:
        namespace = get_namespace(session, "lab")
        row = create_model(session, namespace, name="reference", arch="resnet20", arch_config={})
        return register_artifact(session, row, stored, kind=ArtifactKind.base, meta={}, parents=[]).id


def _parents(runtime: Runtime, artifact_id: str) -> set[str]:
    with transaction(runtime.session_factory) as session:
        query = select(ArtifactParent.parent_id).where(ArtifactParent.artifact_id == artifact_id)
        return set(session.scalars(query))


def _meta(runtime: Runtime, artifact_id: str) -> dict[str, Any]:
    with transaction(runtime.session_factory) as session:
        artifact = session.get(Artifact, artifact_id)
        assert artifact is not None
        return dict(artifact.meta)


def test_rws_pipeline_as_jobs(runtime: Runtime) -> None:
    noisy_job, [noisy] = run(runtime, "corrupt_dataset", NOISE)
    _, [noisy_test] = run(runtime, "corrupt_dataset", {**NOISE, "split": "test"})
    assert noisy.kind is ArtifactKind.dataset and noisy_job.result["images"] > 1000
    reference = _upload_reference(runtime)
    _, [clean] = run(runtime, "train", {**TRAIN, "output_model": "lab/clean", "init": reference})
    robust_job, [robust] = run(
        runtime,
        "train",
        {**TRAIN, "output_model": "lab/robust", "init": reference, "dataset": noisy.id, "val_dataset": noisy_test.id},
    )
    assert _parents(runtime, robust.id) == {reference, noisy.id, noisy_test.id}
    assert 0.0 <= robust_job.result["metrics"]["val_top1"] <= 1.0

    signature_job, [signature] = run(
        runtime,
        "extract_rws",
        {
            "output_model": "lab/rws-noise",
            "reference": reference,
            "clean": clean.id,
            "robust": robust.id,
            "layers": "first:3",
            "bits": 4,
            "corruption": "gaussian_noise",
            "severity": 3,
        },
    )
    summary = signature_job.result
    assert summary["reference_used"] is True
    assert len(summary["layer_deltas"]) > len(summary["layers"]) > 0
    assert summary["compression_ratio"] > 10
    assert signature.kind is ArtifactKind.rws and signature.file_metadata["arch"] == "resnet20"
    assert _parents(runtime, signature.id) == {reference, clean.id, robust.id}

    evaluation, _ = run(
        runtime,
        "evaluate",
        {"artifact": robust.id, "image_size": 8, "corruptions": ["gaussian_noise", "fog"], "severities": [1, 5]},
    )
    table = evaluation.result["robustness"]["top1"]
    assert set(table) == {"gaussian_noise", "fog"} and set(table["fog"]) == {"1", "5"}
    assert _meta(runtime, robust.id)["robustness"]["top1"] == table
