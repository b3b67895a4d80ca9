"""Sign in with an API token (exchanged for the session cookie) and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from registry.auth.tokens import authenticate
from registry.deps import SessionDep
from registry.errors import Unauthorized
from registry.ui.deps import CookiesDep, FormDep
from registry.ui.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(target: object) -> str:
    """Only a path on this site (never another host: '//evil' or a scheme)."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(request: Request, form: FormDep, session: SessionDep, cookies: CookiesDep) -> Response:
    token = form.get("token")
    target = _safe_next(form.get("next"))
    try:
        principal = authenticate(session, f"Bearer {token}" if isinstance(token, str) else None)
    except Unauthorized as exc:
        return render(request, "login.html", {"next": target, "error": exc.detail}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    cookies.sign_in(response, request, principal.token_id)
    return response


@router.post("/logout")
def logout(_form: FormDep, cookies: CookiesDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    cookies.sign_out(response)
    return response
