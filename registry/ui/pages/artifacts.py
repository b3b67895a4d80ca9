"""The artifact page (metadata, tensors by layer, lineage, reports) and its download for the browser session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from registry.deps import RuntimeDep, SessionDep
from registry.errors import NotFound
from registry.jobs import router as jobs_api
from registry.resources.artifacts import router as artifacts_api
from registry.resources.artifacts.schemas import ArtifactOut
from registry.ui import queries, reports
from registry.ui.deps import PagePrincipalDep
from registry.ui.lineage import Node, lineage_svg
from registry.ui.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _artifact_node(model: str, version: int, kind: str, artifact_id: str, node_kind: str = "artifact") -> Node:
    return Node(f"{model}@v{version}", f"{kind} · {artifact_id[:12]}", f"/artifacts/{artifact_id}", node_kind)


def _job_node(job_id: str, kind: str, status: str) -> Node:
    return Node(f"job {kind}", f"{status} · {job_id[:12]}", f"/jobs/{job_id}", "job")


@router.get("/artifacts/{artifact_id}")
def artifact_page(request: Request, artifact_id: str, session: SessionDep, principal: PagePrincipalDep) -> Response:
    artifact: ArtifactOut = artifacts_api.get_artifact(artifact_id=artifact_id, session=session, principal=principal)
    index = artifacts_api.get_tensor_index(artifact_id=artifact_id, session=session, principal=principal)
    producer = None
    if artifact.job_id:
        try:
            producer = jobs_api.get_job(job_id=artifact.job_id, session=session, principal=principal)
        except NotFound:
            producer = None
    children = queries.children(session, principal, artifact.id)
    users = [(n, j) for n, j in queries.jobs_using(session, principal, artifact.id) if j.id != artifact.job_id]
    inputs = [_artifact_node(p.model, p.version, p.kind.value, p.id) for p in artifact.parents]
    if producer is not None:
        inputs.append(_job_node(producer.id, producer.kind, producer.status.value))
    outputs = [_artifact_node(f"{n.name}/{m.name}", a.version, a.kind.value, a.id) for n, m, a in children]
    outputs += [_job_node(j.id, j.kind, j.status.value) for _n, j in users]
    this = _artifact_node(artifact.model, artifact.version, artifact.kind.value, artifact.id, "self")
    context = {
        "artifact": artifact,
        "index": index,
        "groups": reports.tensor_groups(index.tensors),
        "lineage": lineage_svg(this, inputs, outputs),
        "producer": producer,
        "children": children,
        "users": users,
        "sections": reports.report_sections(artifact.metadata),
    }
    return render(request, "artifact.html", context, principal=principal)


@router.get("/artifacts/{artifact_id}/file")
def download(
    artifact_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PagePrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The API's download (same checks, Range and ETag), authorised by the session cookie."""
    return artifacts_api.download_artifact(
        artifact_id=artifact_id,
        runtime=runtime,
        session=session,
        principal=principal,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )
