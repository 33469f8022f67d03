"""Security headers of HTML pages (docs/api.md section 11).

The policy allows scripts only from this origin's files (no inline script or handler, no eval),
no framing, and sockets and fetches to this origin; uploads previewed before sending are blob:
URLs. `X-Content-Type-Options` and `Referrer-Policy` come from Django's SecurityMiddleware
(settings SECURE_CONTENT_TYPE_NOSNIFF, SECURE_REFERRER_POLICY), on every response.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",  # CSP 3: 'self' takes in ws:/wss: to this host, where /ws is served
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class SecurityHeadersMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
