"""The composition builder: a base and signatures with scales, checked by the API (its errors shown in place),
then the composition's page with its download and the equivalent CLI and SDK calls."""

from __future__ import annotations

import shlex
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import RedirectResponse

from registry.deps import RuntimeDep, SessionDep
from registry.domain.artifacts import get_artifact
from registry.errors import Invalid, PatchhubError
from registry.models.artifact import ArtifactKind
from registry.resources.compositions import router as compositions_api
from registry.resources.compositions.schemas import CompositionCreate, CompositionOut, PatchIn
from registry.ui import queries
from registry.ui.deps import FormDep, PagePrincipalDep
from registry.ui.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
EMPTY_PATCH_ROWS = 3


def _patch_rows(form: dict[str, str]) -> list[tuple[str, str]]:
    rows = []
    index = 0
    while f"patch-{index}" in form:
        rows.append((form[f"patch-{index}"].strip(), form.get(f"scale-{index}", "").strip()))
        index += 1
    return rows


@router.get("/compose")
def compose_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    base: str = "",
    rows: int = EMPTY_PATCH_ROWS,
) -> Response:
    patches = [("", "1.0")] * max(1, min(rows, 64))
    return _builder(request, session, principal, base, patches)


def _builder(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    base: str,
    patches: list[tuple[str, str]],
    error: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "base": base,
        "patches": patches,
        "error": error,
        "bases": queries.artifact_choices(session, principal, (ArtifactKind.base, ArtifactKind.checkpoint)),
        "signatures": queries.artifact_choices(session, principal, (ArtifactKind.rws,)),
    }
    return render(request, "compose.html", context, principal=principal, status_code=status_code)


@router.post("/compose")
def create_composition(
    request: Request, form: FormDep, runtime: RuntimeDep, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    base, rows = values.get("base", "").strip(), _patch_rows(values)
    if "add_row" in values:
        return _builder(request, session, principal, base, [*rows, ("", "1.0")])
    try:
        patches = []
        for index, (ref, scale) in enumerate(rows):
            if not ref:
                continue
            try:
                patches.append(PatchIn(artifact=ref, scale=float(scale or "1")))
            except ValueError:
                raise Invalid(f"patches.{index}.scale: {scale[:32]!r} is not a finite number") from None
        composition = compositions_api.create_composition(
            body=CompositionCreate(base=base, patches=patches),
            response=Response(),
            runtime=runtime,
            session=session,
            principal=principal,
        )
    except PatchhubError as exc:
        if exc.status_code in (401, 403):
            raise
        return _builder(request, session, principal, base, rows or [("", "1.0")], exc.detail, 422)
    return RedirectResponse(f"/compositions/{composition.id}", status_code=303)


def cli_command(base: str, patches: list[tuple[str, float]]) -> str:
    patch_words = [f"+{ref}*{scale:g}" for ref, scale in patches]
    return shlex.join(["patchhub", "compose", base, *patch_words, "-o", "composed.safetensors"])


def sdk_call(url: str, base: str, patches: list[tuple[str, float]]) -> str:
    listed = ", ".join(f"({ref!r}, {scale!r})" for ref, scale in patches)
    return (
        "from patchhub import Client\n\n"
        f"with Client({url!r}) as client:\n"
        f"    path = client.compose({base!r}, [{listed}], path='composed.safetensors')"
    )


def transformers_snippet(url: str, repo: str, composition_id: str) -> str:
    """Loading the composition with transformers through the Hugging Face protocol (docs/huggingface.md)."""
    return (
        f"# export HF_ENDPOINT={url} HF_TOKEN=<a patchhub token>\n"
        "from transformers import AutoModel\n\n"
        f"model = AutoModel.from_pretrained({repo!r}, revision={composition_id!r})"
    )


@router.get("/compositions/{composition_id}")
def composition_page(
    request: Request, composition_id: str, runtime: RuntimeDep, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    composition: CompositionOut = compositions_api.get_composition(
        composition_id=composition_id, runtime=runtime, session=session, principal=principal
    )
    patches = [(p.artifact, p.scale) for p in composition.patches]
    url = str(request.base_url).rstrip("/")
    base_namespace, base_model, _base = get_artifact(session, composition.base)
    context = {
        "composition": composition,
        "cli": cli_command(composition.base, patches),
        "sdk": sdk_call(url, composition.base, patches),
        "hf": transformers_snippet(url, f"{base_namespace.name}/{base_model.name}", composition.id),
        "url": url,
    }
    return render(request, "composition.html", context, principal=principal)


@router.get("/compositions/{composition_id}/file")
async def download_composition(
    composition_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: PagePrincipalDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The API's composed download (computed once, then cached), authorised by the session cookie."""
    return await compositions_api.download_composition(
        composition_id=composition_id,
        runtime=runtime,
        session=session,
        principal=principal,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )
