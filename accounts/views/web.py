"""Server-rendered pages (docs/api.md section 6): log-in, sign-up, log-out and the chat app shell."""

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.actions.users import check_register
from imsite.errors import ImError


class LoginForm(AuthenticationForm):
    username = forms.CharField(label=_("Username"), max_length=32)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class RegisterForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=32)
    display_name = forms.CharField(label=_("Display name"), max_length=64, required=False)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


def login_page(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect("/")
    return render(request, "accounts/login.html", {"form": form}, status=400 if form.errors else 200)


def register_page(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = check_register(data["username"], data["password"], data["display_name"])
        except ImError as exc:
            for field, messages in (exc.fields or {"__all__": [exc.message]}).items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("/")
    return render(request, "accounts/register.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/login")


@login_required
def app_page(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/app.html", {"user": request.user})
