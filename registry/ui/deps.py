"""Dependencies of the pages: the signed-in principal (from the session cookie) and CSRF-checked forms."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.datastructures import FormData

from registry.auth.principal import Principal
from registry.auth.tokens import authenticate_token_id
from registry.deps import SessionDep
from registry.errors import Invalid, Unauthorized
from registry.ui.session import CSRF_FIELD, SessionCookies

EnumT = TypeVar("EnumT", bound=Enum)


def enum_filter(enum_type: type[EnumT], value: str, label: str) -> EnumT | None:
    """A page's optional filter (an empty field is no filter); a value outside ``enum_type`` is a 422."""
    if not value:
        return None
    try:
        return enum_type(value)
    except ValueError:
        raise Invalid(f"{label} {value[:32]!r} is not one of {', '.join(str(e.value) for e in enum_type)}") from None


def get_cookies(request: Request) -> SessionCookies:
    cookies: SessionCookies = request.app.state.ui_cookies
    return cookies


CookiesDep = Annotated[SessionCookies, Depends(get_cookies)]


def page_principal(request: Request, session: SessionDep, cookies: CookiesDep) -> Principal:
    """The token this browser signed in with; the same revocation rule as the API (a revoked token is out)."""
    token_id = cookies.token_id(request)
    if token_id is None:
        raise Unauthorized("sign in to see this page")
    return authenticate_token_id(session, token_id)


async def checked_form(request: Request, cookies: CookiesDep) -> FormData:
    """The submitted form, refused (403) unless it carries this browser's CSRF token."""
    form = await request.form()
    cookies.check_csrf(request, form.get(CSRF_FIELD))
    return form


PagePrincipalDep = Annotated[Principal, Depends(page_principal)]
FormDep = Annotated[FormData, Depends(checked_form)]
