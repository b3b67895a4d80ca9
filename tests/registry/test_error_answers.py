"""Error answers as a client sees them: every error is ``{"error", "detail"}``, declared in the OpenAPI."""

from __future__ import annotations

from tests.fixtures.services import LiveServer


def test_method_not_allowed_names_the_allowed_methods(live_server: LiveServer) -> None:
    with live_server.client() as client:
        answer = client.delete("/v1/whoami")
    assert answer.status_code == 405
    assert answer.json()["error"] == "method_not_allowed"
    assert answer.headers["Allow"] == "GET"


def test_a_body_that_is_not_json_is_a_documented_4xx(live_server: LiveServer) -> None:
    with live_server.client() as client:
        undecodable = client.post("/v1/namespaces", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
        malformed = client.post("/v1/namespaces", content=b"{name: x", headers={"Content-Type": "application/json"})
        spec = client.get("/openapi.json").json()
    assert undecodable.status_code == 400 and undecodable.json()["error"] == "bad_request"
    assert malformed.status_code == 422 and set(malformed.json()) == {"error", "detail"}
    declared = spec["paths"]["/v1/namespaces"]["post"]["responses"]
    assert {"400", "422"} <= set(declared)


def test_openapi_declares_the_error_body_that_is_sent_for_every_error_status(live_server: LiveServer) -> None:
    with live_server.client() as client:
        spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["ErrorOut"]["required"]) == {"error", "detail"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if status[0] in "45":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
            if operation.get("parameters"):
                assert "422" in operation["responses"], (method, path)
