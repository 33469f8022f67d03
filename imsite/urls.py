from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView

from imsite import api_docs, errors, health

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

urlpatterns = [
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("", include("django_prometheus.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from this server's static files (offline), its script a file of its own (CSP).
    path("api/docs", api_docs.ApiDocsView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    # The browser client's catalogue (djangojs domain) in the request's language, and Django's
    # set_language for the pages before sign-in (docs/api.md section 12).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("i18n/", include("django.conf.urls.i18n")),
    # OAuth2, the token endpoint with the login lockout of the password grant (docs/api.md section 11).
    path("o/", include("accounts.oauth_urls")),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("conversations.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("groups.urls")),
    path("", include("accounts.web_urls")),
    path("", include("chat.web_urls")),
]
