"""/api/docs: Swagger UI from drf-spectacular-sidecar's static files, so it works offline
(apart from imsite/openapi.py, which DRF imports while drf_spectacular.views loads)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

from imsite.security import CONTENT_SECURITY_POLICY


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /api/docs: its script is a file of its own (no inline script), and the policy
    of HTML pages with one addition for this page, the `data:` icons of Swagger UI's stylesheet."""

    policy = CONTENT_SECURITY_POLICY.replace("img-src 'self' blob:", "img-src 'self' blob: data:")

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = self.policy
        return response
