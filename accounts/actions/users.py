"""Accounts: sign-up, profile, user search."""

import re

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts import hooks
from accounts.models import Block, User
from imsite.errors import ImError, invalid, not_found

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")
DISPLAY_NAME_MAX = 64


def check_display_name(value: object) -> str:
    if not isinstance(value, str):
        raise invalid({"display_name": [_("Must be a string.")]})
    value = value.strip()
    if len(value) > DISPLAY_NAME_MAX:
        raise invalid({"display_name": [_("At most %(count)d characters.") % {"count": DISPLAY_NAME_MAX}]})
    return value


def check_register(username: object, password: object, display_name: object = "") -> User:
    errors: dict[str, list[str]] = {}
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        errors["username"] = [_("3-32 characters: ASCII letters, digits and _.")]
    if not isinstance(password, str) or not password:
        errors["password"] = [_("This field is required.")]
    try:
        display = check_display_name(display_name or "")
    except ImError as exc:
        errors.update(exc.fields or {})
        display = ""
    if not errors:
        candidate = User(username=username, display_name=display)
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise invalid(errors)
    return do_register(username, password, display)


def do_register(username: str, password: str, display_name: str) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ImError("conflict", _("This username is taken."), {"username": [_("This username is taken.")]})
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password, display_name=display_name)
    except IntegrityError:
        # A concurrent sign-up with the same name (any case) won the unique index.
        raise ImError("conflict", _("This username is taken."), {"username": [_("This username is taken.")]}) from None


def check_language(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value in dict(settings.LANGUAGES)):
        return value  # type: ignore[return-value]
    choices = ", ".join(code for code, _name in settings.LANGUAGES)
    raise invalid({"language": [_("One of: %(choices)s, or null.") % {"choices": choices}]})


def check_email(value: object) -> str:
    """The address password-reset mail goes to; empty: none."""
    if not isinstance(value, str):
        raise invalid({"email": [_("Must be a string.")]})
    value = value.strip()
    try:
        if value:
            validate_email(value)
    except ValidationError as exc:
        raise invalid({"email": list(exc.messages)}) from None
    return value


def do_update_profile(user: User, display_name: object = None, avatar_attachment_id: object = None,
                      set_avatar: bool = False, language: object = None, set_language: bool = False,
                      email: object = None) -> User:
    fields = []
    if display_name is not None:
        user.display_name = check_display_name(display_name)
        fields.append("display_name")
    if set_avatar:
        user.avatar = hooks.check_avatar_image(user.id, avatar_attachment_id, field="avatar_attachment_id")
        fields.append("avatar")
    if email is not None:
        user.email = check_email(email)
        fields.append("email")
    if set_language:
        user.language = check_language(language)
        fields.append("language")
    if fields:
        user.save(update_fields=fields)
    return user


def search_users(viewer: User, q: str) -> QuerySet[User]:
    """Active users whose username or display name starts with `q` (case-insensitive), except the
    viewer and users who blocked the viewer."""
    prefix = q.strip().lower()
    blocked_me = Block.objects.filter(blocked=viewer).values("blocker_id")
    return (
        User.objects.filter(is_active=True)
        .exclude(id=viewer.id)
        .exclude(id__in=blocked_me)
        .annotate(lu=Lower("username"), ld=Lower("display_name"))
        .filter(Q(lu__startswith=prefix) | Q(ld__startswith=prefix))
        .order_by("id")
    )


def access_user(user_id: int | None) -> User:
    """An active user by id (read by imsite/inputs.py; None, not an id, names nobody)."""
    user = User.objects.filter(id=user_id, is_active=True).first() if user_id is not None else None
    if user is None:
        raise not_found(_("No such user."))
    return user
