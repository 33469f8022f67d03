from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import web

urlpatterns = [
    path("", web.app_page, name="app"),
    path("login", web.login_page, name="login"),
    path("register", web.register_page, name="register"),
    path("logout", web.logout_page, name="logout"),
    # Password reset by email through Django's own views (the mail goes through EMAIL_BACKEND).
    path("password-reset", auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset_form.html", email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt"), name="password_reset"),
    path("password-reset/sent", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>", web.PasswordResetConfirmPage.as_view(), name="password_reset_confirm"),
    path("password-reset/done", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"), name="password_reset_complete"),
]
