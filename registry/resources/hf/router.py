"""The Hugging Face Hub protocol, read side (docs/huggingface.md): with ``HF_ENDPOINT`` pointed here and a patchhub
token as ``HF_TOKEN``, huggingface_hub and transformers load versions and compositions unchanged.

Mounted at the root after every other route, so the API, the pages and the static files always win."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request, Response, status
from starlette.concurrency import run_in_threadpool

from patchhub.hf_revisions import MAIN
from registry.auth.principal import Principal
from registry.auth.tokens import authenticate
from registry.deps import RuntimeDep, SessionDep
from registry.errors import NotFound, Unauthorized
from registry.resources.hf import history, service
from registry.resources.hf.errors import TokenRefused, WritesRefused
from registry.resources.hf.files import file_response, snapshot_files
from registry.resources.hf.schemas import Commit, GitRefs, ModelInfo, TreeEntry, Whoami
from registry.resources.hf.snapshots import find_repo, resolve_snapshot

router = APIRouter(tags=["huggingface"], include_in_schema=False)
MAX_PATHS = 1000  # paths one paths-info request may ask about


def hf_principal(session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller, as for the API; a missing or unknown token is refused the way the Hub refuses it."""
    try:
        return authenticate(session, authorization)
    except Unauthorized as exc:
        raise TokenRefused(exc.detail, token_sent=bool(authorization)) from None


HfPrincipal = Annotated[Principal, Depends(hf_principal)]


@router.get("/api/models/{namespace}/{name}", response_model=ModelInfo)
def model_info(
    namespace: str, name: str, runtime: RuntimeDep, session: SessionDep, principal: HfPrincipal
) -> ModelInfo:
    return model_info_at(namespace, name, MAIN, runtime, session, principal)


# {revision:path}: a revision with a "/" (refs/pr/1) reaches the parser, which says what revisions are.
@router.get("/api/models/{namespace}/{name}/revision/{revision:path}", response_model=ModelInfo)
def model_info_at(
    namespace: str, name: str, revision: str, runtime: RuntimeDep, session: SessionDep, principal: HfPrincipal
) -> ModelInfo:
    snapshot = resolve_snapshot(session, runtime, principal, namespace, name, revision)
    return service.model_info(runtime.store, snapshot, snapshot_files(session, snapshot))


@router.get("/api/models/{namespace}/{name}/tree/{revision}", response_model=list[TreeEntry])
@router.get("/api/models/{namespace}/{name}/tree/{revision}/{folder:path}", response_model=list[TreeEntry])
def list_tree(
    namespace: str,
    name: str,
    revision: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: HfPrincipal,
    folder: str = "",
    recursive: bool = False,
) -> list[TreeEntry]:
    """One page holds the whole listing (a version has few files), so there is no Link header to follow."""
    snapshot = resolve_snapshot(session, runtime, principal, namespace, name, revision)
    return service.tree(snapshot, snapshot_files(session, snapshot), folder, recursive=recursive)


@router.post("/api/models/{namespace}/{name}/paths-info/{revision:path}", response_model=list[TreeEntry])
def paths_info(
    namespace: str,
    name: str,
    revision: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: HfPrincipal,
    paths: Annotated[list[str], Form(max_length=MAX_PATHS)],
) -> list[TreeEntry]:
    """get_paths_info and HfFileSystem: a read sent as a form POST."""
    snapshot = resolve_snapshot(session, runtime, principal, namespace, name, revision)
    return service.paths_info(snapshot_files(session, snapshot), paths)


@router.get("/api/models/{namespace}/{name}/refs", response_model=GitRefs)
def list_refs(namespace: str, name: str, session: SessionDep, principal: HfPrincipal) -> GitRefs:
    _ns, model = find_repo(session, principal, namespace, name)
    return history.refs(session, model)


@router.get("/api/models/{namespace}/{name}/commits/{revision:path}", response_model=list[Commit])
def list_commits(
    namespace: str, name: str, revision: str, runtime: RuntimeDep, session: SessionDep, principal: HfPrincipal
) -> list[Commit]:
    """One page holds the whole history, so there is no Link header to follow."""
    snapshot = resolve_snapshot(session, runtime, principal, namespace, name, revision)
    return history.commits(session, snapshot)


@router.api_route("/{namespace}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
async def resolve_file(
    request: Request,
    namespace: str,
    name: str,
    revision: str,
    path: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: HfPrincipal,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """A file at a revision: HEAD answers its metadata without reading (or composing) any bytes; GET streams it,
    whole or one Range."""
    snapshot = await run_in_threadpool(resolve_snapshot, session, runtime, principal, namespace, name, revision)
    files = await run_in_threadpool(snapshot_files, session, snapshot)
    file = service.find_file(snapshot, files, path)
    headers = service.file_headers(snapshot, file, pinned=revision == snapshot.sha)
    if request.method == "HEAD":
        return Response(status_code=status.HTTP_200_OK, headers={**headers, "Content-Length": str(file.size)})
    return await file_response(
        runtime,
        session,
        snapshot,
        file,
        headers,
        range_header=range_header,
        if_none_match=if_none_match,
        if_range=if_range,
    )


@router.get("/api/whoami-v2", response_model=Whoami)
def whoami(session: SessionDep, principal: HfPrincipal) -> Whoami:
    return service.whoami(session, principal)


@router.api_route("/api/{anything:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def unsupported(request: Request, anything: str) -> Response:
    """Writes (create_repo, upload_file, upload_folder, create_commit ...) are refused: versions are pushed with
    patchhub. Other reads of the Hub API are not served."""
    if request.method in ("GET", "HEAD"):
        raise NotFound(f"/api/{anything[:200]} is not part of the Hub API patchhub serves (docs/huggingface.md)")
    raise WritesRefused()
