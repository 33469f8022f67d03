"""Server-rendered pages (docs/api.md section 6): log-in, sign-up, log-out and the chat app shell."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.actions.limits import login_attempt, registration_slot
from accounts.actions.tokens import do_end_other_logins
from accounts.actions.users import check_register
from imsite.errors import ImError


class LoginForm(AuthenticationForm):
    username = forms.CharField(label=_("Username"), max_length=32)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        """The credential check, counted by the login lockout (docs/api.md section 11)."""
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        try:
            with login_attempt(username) as attempt:
                try:
                    cleaned = super().clean()
                except ValidationError as exc:
                    if exc.code == "invalid_login":
                        attempt.failed()
                    raise
                attempt.succeeded()
                return cleaned
        except ImError as exc:
            raise ValidationError(exc.message, code=exc.code) from None


class RegisterForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=32)
    display_name = forms.CharField(label=_("Display name"), max_length=64, required=False)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


def login_page(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect("/")
    status = 429 if form.has_error(NON_FIELD_ERRORS, "rate_limited") else 400 if form.errors else 200
    return render(request, "accounts/login.html", {"form": form}, status=status)


def register_page(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    limited = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with registration_slot(request.META.get("REMOTE_ADDR", "")):
                user = check_register(data["username"], data["password"], data["display_name"])
        except ImError as exc:
            limited = exc.code == "rate_limited"
            for field, messages in (exc.fields or {"__all__": [exc.message]}).items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    status = 429 if limited else 400 if form.errors else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)


class PasswordResetConfirmPage(auth_views.PasswordResetConfirmView):
    """Django's reset view; a password set from the emailed link also ends the user's other
    logins, as a password change does (docs/api.md section 11): tokens revoked, sockets closed."""

    template_name = "accounts/password_reset_confirm.html"

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        do_end_other_logins(form.user)
        return response


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/login")


@login_required
def app_page(request: HttpRequest) -> HttpResponse:
    # Settings the browser needs reach it as JSON data blocks (json_script), not inline code.
    return render(request, "chat/app.html", {"user": request.user, "ice_servers": settings.IM_ICE_SERVERS,
                                             "edit_window": settings.IM_EDIT_WINDOW})
