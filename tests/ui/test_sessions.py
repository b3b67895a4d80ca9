"""Sessions and authorization of the pages over plain HTTP: the cookie is httpOnly, signed and expiring; every
form needs its CSRF token; the API's rules decide what a session may see and do."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from itsdangerous import TimestampSigner

from registry.ui.session import SESSION_COOKIE, SessionCookies, load_session_secret
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.ui.seed import weights
from tests.ui.web_session import csrf_field, signed_in


def _alias_setup(server: LiveServer, namespace: NamespaceAccess) -> str:
    with server.client(namespace.write_token) as client:
        client.post("/v1/models", json={"namespace": namespace.name, "name": "net", "arch": "tiny"}).raise_for_status()
        for seed in (1, 2):
            client.put(
                f"/v1/models/{namespace.name}/net/artifacts", params={"kind": "base"}, content=weights(seed)
            ).raise_for_status()
    return f"/models/{namespace.name}/net"


def _aliases(server: LiveServer, namespace: NamespaceAccess) -> dict[str, int]:
    with server.client(namespace.read_token) as client:
        return dict(client.get(f"/v1/models/{namespace.name}/net").json()["aliases"])


def test_session_cookie_is_httponly_signed_and_holds_no_secret(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    with signed_in(live_server, namespace.read_token) as client:
        assert client.get("/").status_code == 200
        cookie = next(h for h in client.cookies.jar if h.name == SESSION_COOKIE)
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "lax"
        assert namespace.read_token not in str(cookie.value)
        assert namespace.read_token not in client.get("/").text
        forged = str(cookie.value)[:-2] + ("AA" if not str(cookie.value).endswith("AA") else "BB")
        client.cookies.set(SESSION_COOKIE, forged, domain=cookie.domain)
        refused = client.get("/")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


def test_a_session_lasts_session_hours(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    settings = live_server.runtime.settings
    cookies = SessionCookies(load_session_secret(settings), settings.session_hours * 3600)
    with signed_in(live_server, namespace.read_token) as client:
        token_id = cookies.serializer("session").loads(client.cookies[SESSION_COOKIE])
        for age_hours, status in ((settings.session_hours - 1, 200), (settings.session_hours + 1, 303)):

            class SignedEarlier(TimestampSigner):
                def get_timestamp(self, hours: int = age_hours) -> int:
                    return int(time.time()) - hours * 3600

            old = cookies.serializer("session", signer=SignedEarlier).dumps(token_id)
            client.cookies.set(SESSION_COOKIE, old)
            assert client.get("/").status_code == status, age_hours


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(
    live_server: LiveServer, namespace: NamespaceAccess
) -> None:
    model_path = _alias_setup(live_server, namespace)
    with signed_in(live_server, namespace.write_token) as client:
        for data in ({"alias": "prod", "version": "1"}, {"alias": "prod", "version": "1", "csrf_token": "forged"}):
            refused = client.post(f"{model_path}/aliases", data=data)
            assert refused.status_code == 403 and "CSRF" in refused.text
        assert "prod" not in _aliases(live_server, namespace)
        assert client.post("/logout").status_code == 403
        assert client.get("/").status_code == 200  # still signed in
        token = csrf_field(client.get(model_path))
        moved = client.post(f"{model_path}/aliases", data={"alias": "prod", "version": "1", "csrf_token": token})
        assert moved.status_code == 303
        assert _aliases(live_server, namespace)["prod"] == 1


def test_a_read_only_session_cannot_write_even_by_posting(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    model_path = _alias_setup(live_server, namespace)
    with signed_in(live_server, namespace.read_token) as client:
        page = client.get(model_path)
        assert page.status_code == 200 and 'id="move-alias"' not in page.text
        posted = client.post(
            f"{model_path}/aliases", data={"alias": "prod", "version": "1", "csrf_token": csrf_field(page)}
        )
        assert posted.status_code == 403
        assert "write access is needed" in posted.text  # the API's own sentence
    assert "prod" not in _aliases(live_server, namespace)


def test_revoking_the_token_ends_its_sessions(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client() as admin:
        created = admin.post("/v1/tokens", json={"name": "short-lived", "role": "read", "namespace": namespace.name})
        token = created.json()
        with signed_in(live_server, token["token"]) as client:
            assert client.get("/").status_code == 200
            admin.delete(f"/v1/tokens/{token['id']}").raise_for_status()
            refused = client.get("/")
    assert refused.status_code == 303 and refused.headers["location"] == "/login?next=%2F"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_only_returns_to_this_site(live_server: LiveServer, namespace: NamespaceAccess, target: str) -> None:
    with signed_in(live_server, namespace.read_token) as client:
        page = client.get("/login", params={"next": target})
        answer = client.post(
            "/login", data={"token": namespace.read_token, "next": target, "csrf_token": csrf_field(page)}
        )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_wrong_token_is_refused_with_the_api_reason(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30) as client:
        answer = client.post("/login", data={"token": "phk_wrong", "csrf_token": csrf_field(client.get("/login"))})
    assert answer.status_code == 401 and "unknown or revoked" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_openapi_declares_the_bearer_scheme_and_docs_load_only_packaged_assets(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearerAuth"] == {
            "type": "http",
            "scheme": "bearer",
            "description": "an API token (phk_...)",
        }
        assert schema["paths"]["/v1/models"]["get"]["security"] == [{"bearerAuth": []}]
        assert "security" not in schema["paths"]["/healthz"]["get"]
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
            for asset in assets:
                assert client.get(asset).status_code == 200, asset
            assert "fonts.googleapis" not in html and "cdn." not in html


@pytest.mark.parametrize("version", ["0", "²", "99999999999999999999", "v1", ""])
def test_the_alias_form_refuses_a_version_that_is_no_version(
    live_server: LiveServer, namespace: NamespaceAccess, version: str
) -> None:
    model_path = _alias_setup(live_server, namespace)
    with signed_in(live_server, namespace.write_token) as client:
        token = csrf_field(client.get(model_path))
        refused = client.post(f"{model_path}/aliases", data={"alias": "prod", "version": version, "csrf_token": token})
        assert refused.status_code == 422 and "choose the version" in refused.text
    assert "prod" not in _aliases(live_server, namespace)
