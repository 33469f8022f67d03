"""REST authentication by bearer token that refuses disabled accounts: django-oauth-toolkit
accepts any valid token, but an operator disabling a user must cut them off at once (their
sockets are refused with 4403 too)."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from imsite.i18n import activate_user_language


class ActiveUserOAuth2Authentication(OAuth2Authentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None and (result[0] is None or not result[0].is_active):
            raise AuthenticationFailed(_("This account is disabled."))
        if result is not None:
            activate_user_language(result[0])
        return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How /api/schema describes it: `Authorization: Bearer <access_token>`."""

    target_class = ActiveUserOAuth2Authentication
    name = "bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "An access_token from POST /api/v1/auth/token (django-oauth-toolkit)."}
