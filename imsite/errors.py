"""One error type for the whole product, with the codes of docs/api.md sections 0 and 5.

Actions raise `ImError`; REST views turn it into `{"error": {...}}` with the HTTP status of its
code, the socket into an `error` frame. DRF's own exceptions are mapped to the same shape, and so
are Django's error pages under `/api/` and `/o/` (unknown paths, server errors: section 11).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

HTTP_STATUS = {
    "invalid": 400,
    "invalid_content": 400,
    "invalid_msg_id": 400,
    "invalid_frame": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_friends": 403,
    "blocked": 403,
    "recall_expired": 403,
    "edit_expired": 403,
    "not_found": 404,
    "conflict": 409,
    "group_dissolved": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "server_error": 500,
}


class ImError(Exception):
    """`message` and `fields` are human text in the request's language (docs/api.md section 12):
    callers pass `gettext(...)` results, or lazy strings, which are rendered here."""

    def __init__(self, code: str, message: str, fields: dict[str, list[str]] | None = None):
        message = str(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = {key: [str(text) for text in texts] for key, texts in fields.items()} if fields else fields

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


def invalid(fields: dict[str, list[str]], message: str | None = None) -> ImError:
    return ImError("invalid", message or _("Some fields are not valid."), fields)


def not_found(what: str | None = None) -> ImError:
    return ImError("not_found", what or _("Not found."))


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {key: [str(item) for item in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def to_im_error(exc: Exception) -> ImError | None:
    if isinstance(exc, ImError):
        return exc
    if isinstance(exc, Http404):
        return not_found()
    if isinstance(exc, PermissionDenied):
        return ImError("forbidden", _("You may not do this."))
    if isinstance(exc, drf_exceptions.ValidationError):
        return invalid(_flatten(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError):
        return ImError("invalid", str(exc.detail))
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return ImError("unauthenticated", _("Authentication is required."))
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return ImError("forbidden", str(exc.detail))
    if isinstance(exc, drf_exceptions.NotFound):
        return not_found()
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return ImError("unsupported_media_type", str(exc.detail))
    if isinstance(exc, drf_exceptions.Throttled):
        return ImError("rate_limited", _("Too many requests."))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return ImError("invalid", str(exc.detail))
    if isinstance(exc, drf_exceptions.APIException):
        return ImError("invalid", str(exc.detail))
    return None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    error = to_im_error(exc)
    if error is None:
        return None
    status = error.status
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        status = 405
    response = Response(error.body(), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


# Django's handlers for errors outside DRF's views (imsite/urls.py): JSON for API clients, Django's
# plain pages (no stack trace with DEBUG off) for browsers.
def _json_wanted(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/o/")) or "text/html" not in request.headers.get("Accept", "")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _json_wanted(request):
        return JsonResponse(ImError("invalid", _("Bad request.")).body(), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _json_wanted(request):
        return JsonResponse(ImError("forbidden", _("You may not do this.")).body(), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _json_wanted(request):
        return JsonResponse(not_found().body(), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _json_wanted(request):
        return JsonResponse(ImError("server_error", _("Something went wrong on the server.")).body(), status=500)
    return defaults.server_error(request)
