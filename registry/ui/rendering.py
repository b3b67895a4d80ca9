"""Templates, the page route class (sign-in redirects and HTML error pages) and the render helper."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from registry.auth.principal import Principal
from registry.errors import Forbidden, NotFound, PatchhubError, Unauthorized
from registry.models import Namespace, Role
from registry.ui import formatting
from registry.ui.session import CSRF_FIELD, SessionCookies, new_csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(
    size=formatting.human_size, count=formatting.human_count, when=formatting.when, short=formatting.short_id
)
templates.env.globals["csrf_field"] = CSRF_FIELD


def can(principal: Principal | None, role: Role, namespace: Namespace | None) -> bool:
    """Whether the API would allow ``role`` on ``namespace``: the API's own rule, asked without raising."""
    if principal is None:
        return False
    try:
        principal.require(role, namespace)
    except (Forbidden, NotFound):  # a namespace outside the token's scope does not exist for it
        return False
    return True


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    cookies: SessionCookies = request.app.state.ui_cookies
    known_csrf = cookies.csrf_token(request)
    csrf = known_csrf or new_csrf_token()
    body = templates.get_template(template).render(
        {"request": request, "principal": principal, "csrf_token": csrf, **(context or {})}
    )
    response = HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})
    if known_csrf is None:
        cookies.set_csrf(response, request, csrf)
    return response


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class PageRoute(APIRoute):
    """Pages answer in HTML: no session sends the browser to sign in; an API error becomes an error page with
    the API's status code and sentence."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthorized:
                return sign_in_redirect(request)
            except PatchhubError as exc:
                context = {"error": exc.error, "detail": exc.detail}
                return render(request, "error.html", context, status_code=exc.status_code)

        return page_handler
