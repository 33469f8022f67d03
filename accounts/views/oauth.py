"""django-oauth-toolkit's token endpoint (`/o/token/`) with the login lockout of the password
grant (docs/api.md section 11): the same count as `/api/v1/auth/token` and the `/login` form."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider import views

from accounts.actions.limits import login_attempt
from imsite.errors import ImError


class TokenView(views.TokenView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username")
        if request.POST.get("grant_type") != "password" or not username or not request.POST.get("password"):
            return super().post(request, *args, **kwargs)
        try:
            with login_attempt(username) as attempt:
                response = super().post(request, *args, **kwargs)
                if response.status_code == 200:
                    attempt.succeeded()
                elif _oauth_error(response) == "invalid_grant":  # oauthlib's answer to wrong credentials
                    attempt.failed()
        except ImError as exc:
            return JsonResponse(exc.body(), status=exc.status)
        return response


def _oauth_error(response: HttpResponse) -> str | None:
    try:
        return json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        return None
