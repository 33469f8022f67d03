"""Liveness and readiness for operators and orchestrators."""

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

from imsite.realtime.store import redis_client


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "node": settings.IM_NODE_NAME})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            checks[alias] = "ok"
        except Exception as exc:  # any failure means not ready; report it
            checks[alias] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            redis_client().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
