"""Operator endpoints (docs/api.md sections 0 and 7): /healthz, /readyz, /metrics, /api/schema and
/api/docs, all without authentication."""

import json
import re

import pytest
from channels.db import database_sync_to_async as db
from django.conf import settings
from django.test import Client
from drf_spectacular.validation import validate_schema

from tests.conftest import ALL_DBS

# The REST paths of docs/api.md sections 1, 2 and 3 owned by accounts/ and conversations/, with their
# methods ({...} stands for any path parameter).
CONTRACT_PATHS = {
    "/api/v1/auth/register": {"post"},
    "/api/v1/auth/token": {"post"},
    "/api/v1/auth/refresh": {"post"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/me": {"get", "patch"},
    "/api/v1/users": {"get"},
    "/api/v1/friends/requests": {"get", "post"},
    "/api/v1/friends/requests/{}/accept": {"post"},
    "/api/v1/friends/requests/{}/reject": {"post"},
    "/api/v1/friends": {"get"},
    "/api/v1/friends/{}": {"delete"},
    "/api/v1/blocks": {"get", "post"},
    "/api/v1/blocks/{}": {"delete"},
    "/api/v1/conversations": {"get"},
    "/api/v1/conversations/direct": {"post"},
    "/api/v1/conversations/{}": {"get", "patch", "delete"},
    "/api/v1/conversations/{}/messages": {"get", "post"},
    "/api/v1/conversations/{}/read": {"post"},
    "/api/v1/sync": {"get"},
}


@pytest.mark.django_db(databases="__all__")
def test_healthz_and_readyz():
    client = Client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "node": settings.IM_NODE_NAME}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"default": "ok", "shard0": "ok", "shard1": "ok",
                                                       "redis": "ok"}}


@pytest.mark.django_db(databases="__all__")
def test_readyz_reports_an_unreachable_redis(monkeypatch):
    import redis

    from imsite import health

    nowhere = redis.Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setattr(health, "redis_client", lambda: nowhere)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["redis"].startswith("error")
    assert body["checks"]["default"] == "ok"


def _sample(text: str, name: str, default: float | None = None, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (`default` when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    if default is not None:
        return default
    raise AssertionError(f"no sample {name}{{{wanted}}}")


@ALL_DBS
async def test_metrics_count_connections_frames_and_errors(make_user, connect):
    def scrape() -> str:
        response = Client().get("/metrics")
        assert response.status_code == 200
        return response.content.decode()

    before = await db(scrape)()
    sock = await connect(await db(make_user)())
    await sock.send({"type": "ping"})
    await sock.recv_type("pong")
    await sock.send({"type": "msg_ids", "count": 0})
    await sock.recv_type("error")
    await sock.c.send_to(text_data="{oops")
    await sock.recv_type("error")
    during = await db(scrape)()
    node = settings.IM_NODE_NAME
    assert _sample(during, "im_connections_open", node=node) == _sample(before, "im_connections_open", 0, node=node) + 1
    assert _sample(during, "im_frames_in_total", type="ping") >= 1
    assert _sample(during, "im_frames_out_total", type="hello") >= 1
    assert _sample(during, "im_errors_total", code="invalid_frame") >= 2
    for family in ("im_connections_open", "im_frames_in_total", "im_frames_out_total", "im_errors_total",
                   "django_http_requests_total_by_method_total"):
        assert f"# TYPE {family.removesuffix('_total')}" in during
    await sock.close()
    after = await db(scrape)()
    assert _sample(after, "im_connections_open", node=node) == _sample(before, "im_connections_open", 0, node=node)


def _normalize(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_api_schema_is_openapi_3_with_the_contract_paths():
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # against the OpenAPI 3 JSON schema bundled with drf-spectacular
    paths = {_normalize(path): {m for m in item if m in {"get", "post", "patch", "put", "delete"}}
             for path, item in schema["paths"].items()}
    for path, methods in CONTRACT_PATHS.items():
        assert path in paths, path
        assert methods <= paths[path], (path, paths[path])
    bearer = schema["components"]["securitySchemes"]["bearer"]
    assert bearer["type"] == "http" and bearer["scheme"] == "bearer"
    assert {"bearer": []} in schema["paths"]["/api/v1/me"]["get"]["security"]
    # the default answer is YAML, also without authentication
    assert Client().get("/api/schema").content.startswith(b"openapi: 3")


def test_api_docs_page():
    response = Client().get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    # Swagger UI's own script is served apart (no inline script); it loads /api/schema.
    script = Client().get("/api/docs", {"script": ""})
    assert script.status_code == 200 and b"/api/schema" in script.content
