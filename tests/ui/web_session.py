"""A plain HTTP client signed in through the login form, as a browser would be (cookies, CSRF field)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.fixtures.services import LiveServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_field(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    assert match, f"no CSRF field on {page.url}"
    return match.group(1)


@contextmanager
def signed_in(server: LiveServer, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
        login = client.post("/login", data={"token": token, "csrf_token": csrf_field(client.get("/login"))})
        assert login.status_code == 303, login.text
        yield client
