from django.urls import path

from accounts.views import web

urlpatterns = [
    path("", web.app_page, name="app"),
    path("login", web.login_page, name="login"),
    path("register", web.register_page, name="register"),
    path("logout", web.logout_page, name="logout"),
]
