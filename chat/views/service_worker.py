"""The browser client's service worker, served from the site root: a worker's scope can only be
its own path and below, and the notifications it shows open conversations anywhere in the app."""

from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

SOURCE = Path(settings.BASE_DIR) / "static" / "im" / "sw.js"


@cache
def _source() -> bytes:
    return SOURCE.read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_source(), content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on navigation; never let a cache hide one.
    response["Cache-Control"] = "no-cache"
    return response
