"""The language of a request (docs/api.md section 12): a signed-in user's own choice (`language`
on /api/v1/me), else what LocaleMiddleware found (the language cookie, else Accept-Language), else
English. Session users get it here, after AuthenticationMiddleware; bearer-token users when DRF
authenticates them (accounts/authentication.py), before the view runs, so that error messages,
which are translated where they are raised, already speak the user's language."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation


def activate_user_language(user: Any) -> None:
    language = getattr(user, "language", None)
    if language:
        translation.activate(language)


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only a session that names a user costs a user lookup; anonymous and bearer requests skip it.
        if request.session.session_key and request.user.is_authenticated:
            activate_user_language(request.user)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
