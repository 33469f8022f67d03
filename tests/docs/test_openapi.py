"""/api/schema describes the request and the response of every endpoint, refusals included, and
/api/docs works without the internet (docs/api.md section 7)."""

import json
import re
from pathlib import Path

from django.test import Client

ERROR_REF = "#/components/schemas/Error"
OPERATOR = {"/healthz", "/readyz", "/metrics"}  # plain Django views; /readyz answers 503 with its checks
PUBLIC = {("/api/v1/auth/register", "post"), ("/api/v1/auth/token", "post"), ("/api/v1/auth/refresh", "post"),
          *((path, "get") for path in OPERATOR)}
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations() -> list[tuple[str, str, dict]]:
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    return [(path, method, operation) for path, item in schema["paths"].items()
            for method, operation in item.items() if method in METHODS]


def test_every_operation_has_a_described_answer_and_its_refusals():
    operations = _operations()
    assert len(operations) >= 35
    assert OPERATOR <= {path for path, _, _ in operations}
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        successes = {code: r for code, r in responses.items() if code.startswith("2")}
        assert successes, where
        for code, response in successes.items():
            if code == "204":
                assert "content" not in response, where
            else:
                assert response.get("content"), where
                assert all(media.get("schema") for media in response["content"].values()), (where, code)
        refusals = {code: r for code, r in responses.items() if code[0] in "45" and path not in OPERATOR}
        for code, response in refusals.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (where, code)
        if (path, method) not in PUBLIC:
            assert "401" in refusals, where
        if "{" in path:
            assert "404" in refusals, where
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in refusals, where


def test_request_bodies_are_described():
    for path, method, operation in _operations():
        body = operation.get("requestBody")
        if body is None:
            continue
        for media in body["content"].values():
            schema = media["schema"]
            assert "$ref" in schema or schema.get("properties"), (method, path)


def test_error_body_is_the_one_of_section_0():
    schema = json.loads(Client().get("/api/schema", {"format": "json"}).content)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = schema["components"]["schemas"][error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(detail["properties"]) == {"code", "message", "fields"}
    assert set(detail["required"]) == {"code", "message"}


def test_api_docs_loads_nothing_from_other_hosts():
    client = Client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), html
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    # The Content-Security-Policy of HTML pages blocks inline scripts and styles.
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "img-src 'self' blob: data:;" in policy  # Swagger UI's icons
    assert not re.search(r"<script>\s*\S", html), "an inline script"
    assert "<style" not in html, "an inline style"
    for asset in assets:
        path = "/api/docs" + asset if asset.startswith("?") else asset
        response = client.get(path)
        assert response.status_code == 200, asset
        if asset.endswith("swagger-ui-bundle.js"):
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert b"SwaggerUIBundle" in body
    script = client.get("/api/docs", {"script": ""})
    assert script.status_code == 200 and b"/api/schema" in script.content
    # Swagger UI would otherwise send the schema to its public validator for a badge.
    assert b'"validatorUrl": null' in script.content


def test_docs_api_md_names_every_operation_of_the_schema():
    """docs/api.md is the reference: each REST operation of /api/schema has its `METHOD /path`
    there (path parameters compared by position, not name)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")

    def norm(method: str, path: str) -> str:
        return f"{method.upper()} {re.sub(r'{[^}]+}', '{}', path)}"

    documented = {norm(m[0], m[1]) for m in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`?\s]+)", text)}
    missing = sorted(norm(method, path) for path, method, _ in _operations()
                     if path.startswith("/api/v1/") and norm(method, path) not in documented)
    assert not missing, f"not in docs/api.md: {missing}"
