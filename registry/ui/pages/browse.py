"""Home (namespaces and models: search, filters, pages) and the model page (versions, aliases, moving one)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from registry.deps import SessionDep
from registry.domain.models import find_model
from registry.errors import Invalid, PatchhubError
from registry.models import Role
from registry.models.artifact import ArtifactKind
from registry.numbers import parse_count
from registry.resources.artifacts import router as artifacts_api
from registry.resources.artifacts.schemas import AliasSet
from registry.resources.models import router as models_api
from registry.resources.namespaces import router as namespaces_api
from registry.ui import queries
from registry.ui.deps import FormDep, PagePrincipalDep, enum_filter
from registry.ui.rendering import PageRoute, can, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
HOME_PAGE_SIZE = 25
VERSIONS_PAGE_SIZE = 100


@router.get("/")
def home(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    q: str = "",
    namespace: str = "",
    arch: str = "",
    kind: str = "",
    tag: str = "",
    page_token: str = "",
) -> Response:
    page = models_api.list_models(
        session=session,
        principal=principal,
        namespace=namespace or None,
        arch=arch or None,
        q=q or None,
        tag=tag or None,
        kind=enum_filter(ArtifactKind, kind, "kind"),
        page_size=HOME_PAGE_SIZE,
        page_token=page_token or None,
    )
    filters = {"q": q, "namespace": namespace, "arch": arch, "kind": kind, "tag": tag}
    context = {
        "namespaces": namespaces_api.list_namespaces(session=session, principal=principal),
        "archs": queries.arch_choices(session, principal),
        "kinds": [k.value for k in ArtifactKind],
        "filters": filters,
        "models": page.items,
        "next_page": {**{k: v for k, v in filters.items() if v}, "page_token": page.next_page_token}
        if page.next_page_token
        else None,
        "first_page": {k: v for k, v in filters.items() if v} if page_token else None,
    }
    return render(request, "home.html", context, principal=principal)


@router.get("/models/{namespace}/{name}")
def model_page(
    request: Request,
    namespace: str,
    name: str,
    session: SessionDep,
    principal: PagePrincipalDep,
    page_token: str = "",
) -> Response:
    return _model_page(request, namespace, name, session, principal, page_token)


def _model_page(
    request: Request,
    namespace: str,
    name: str,
    session: SessionDep,
    principal: PagePrincipalDep,
    page_token: str = "",
    alias_error: str = "",
    status_code: int = 200,
) -> Response:
    model = models_api.get_model(namespace=namespace, name=name, session=session, principal=principal)
    versions = artifacts_api.list_artifacts(
        namespace=namespace,
        name=name,
        session=session,
        principal=principal,
        kind=None,
        page_size=VERSIONS_PAGE_SIZE,
        page_token=page_token or None,
    )
    aliases = artifacts_api.list_aliases(namespace=namespace, name=name, session=session, principal=principal)
    ns, _model = find_model(session, namespace, name)
    context = {
        "model": model,
        "versions": versions.items,
        "next_page_token": versions.next_page_token,
        "aliases": aliases,
        "can_write": can(principal, Role.write, ns),
        "alias_error": alias_error,
    }
    return render(request, "model.html", context, principal=principal, status_code=status_code)


@router.post("/models/{namespace}/{name}/aliases")
def move_alias(
    request: Request, namespace: str, name: str, form: FormDep, session: SessionDep, principal: PagePrincipalDep
) -> Response:
    alias, version = str(form.get("alias", "")).strip(), str(form.get("version", "")).strip()
    try:
        number = parse_count(version)
        if not number:  # not plain digits, past 64 bits, or 0: versions start at 1
            raise Invalid("choose the version the alias should point at")
        artifacts_api.set_alias(
            namespace=namespace,
            name=name,
            alias=alias,
            body=AliasSet(version=number),
            session=session,
            principal=principal,
        )
    except PatchhubError as exc:
        if exc.status_code in (401, 403):
            raise
        return _model_page(
            request, namespace, name, session, principal, alias_error=exc.detail, status_code=exc.status_code
        )
    return RedirectResponse(f"/models/{namespace}/{name}#aliases", status_code=303)
