"""OAuth2 under /o/ (imsite/urls.py): django-oauth-toolkit's endpoints, its token endpoint replaced
by ours with the login lockout of the password grant (docs/api.md section 11)."""

from django.urls import include, path

from accounts.views import oauth

urlpatterns = [
    path("token/", oauth.TokenView.as_view()),
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
