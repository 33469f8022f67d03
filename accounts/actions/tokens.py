"""OAuth2 tokens for the first-party apps (django-oauth-toolkit's models), and the choice of the
connection node a client should open its socket on."""

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import generate_token

from accounts.actions.limits import login_attempt
from accounts.models import User
from accounts.representations import user_dict
from imsite.errors import ImError, invalid
from imsite.events import send_control, session_sockets_group, token_group
from imsite.realtime.registry import registry

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Application = get_application_model()


def pick_ws_url() -> str:
    """The live node with the fewest connections; this node when none has registered yet."""
    nodes = registry().live_nodes()
    if not nodes:
        return settings.IM_PUBLIC_WS_URL
    return min(nodes, key=lambda node: (node["connections"], node["name"]))["url"]


def _token_response(user: User, access: Any, refresh: Any) -> dict[str, Any]:
    return {
        "access_token": access.token,
        "refresh_token": refresh.token,
        "token_type": "Bearer",
        "expires_in": oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS,
        "scope": access.scope,
        "user": user_dict(user),
        "ws_url": pick_ws_url(),
    }


def first_party_application() -> Any:
    """The public client of the product's own apps (made by a data migration; re-made if an
    operator deleted it)."""
    application, _ = Application.objects.get_or_create(
        client_id=settings.IM_OAUTH_CLIENT_ID,
        defaults={"name": "IM apps (first party)", "client_type": "public",
                  "authorization_grant_type": "password", "skip_authorization": True})
    return application


def do_issue_tokens(user: User) -> dict[str, Any]:
    application = first_party_application()
    with transaction.atomic():
        access = AccessToken.objects.create(
            user=user, application=application, token=generate_token(), scope="im",
            expires=timezone.now() + timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
        )
        refresh = RefreshToken.objects.create(user=user, application=application, token=generate_token(),
                                              access_token=access)
    return _token_response(user, access, refresh)


def check_login(username: object, password: object) -> dict[str, Any]:
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ImError("unauthenticated", gettext("Wrong username or password."))
    with login_attempt(username) as attempt:
        user = authenticate(username=username, password=password)
        if user is None:
            # Usernames are unique regardless of case: let "Alice" log in as "alice".
            match = User.objects.filter(username__iexact=username).first()
            user = authenticate(username=match.username, password=password) if match else None
        if user is None or not user.is_active:
            attempt.failed()
            raise ImError("unauthenticated", gettext("Wrong username or password."))
        attempt.succeeded()
    return do_issue_tokens(user)


def token_checksum(token: str) -> str:
    """The indexed lookup key of an access or refresh token (django-oauth-toolkit 3 stores the
    SHA-256 beside the token, and may keep only the checksum: RFC 9700 storage)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_refresh(token: object) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise ImError("unauthenticated", gettext("Unknown or used refresh token."))
    with transaction.atomic():
        refresh = (RefreshToken.objects.select_for_update().select_related("user")
                   .filter(token_checksum=token_checksum(token), revoked__isnull=True).first())
        expired = refresh is not None and (
            refresh.created + timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS) < timezone.now())
        if refresh is None or expired or not refresh.user.is_active:
            raise ImError("unauthenticated", gettext("Unknown or used refresh token."))
        # The old refresh token stops working; its access token lives until it expires, so open
        # sockets are not cut by a routine refresh.
        refresh.revoked = timezone.now()
        refresh.save(update_fields=["revoked"])
        return do_issue_tokens(refresh.user)


def do_logout(access_token: Any) -> None:
    """Revoke the token (and its refresh token) and close every socket opened with it (4401)."""
    token_id = access_token.id
    with transaction.atomic():
        RefreshToken.objects.filter(access_token=access_token, revoked__isnull=True).update(revoked=timezone.now())
        access_token.revoke()
    send_control(token_group(token_id), {"type": "im.close", "code": 4401})


def session_tag(session_key: str | None) -> str | None:
    """A session's name in socket messages (the key itself never leaves the session store)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32] if session_key else None


def check_change_password(user: User, old_password: object, new_password: object, keep_token_id: int | None,
                          keep_session: str | None = None) -> None:
    """Set a new password (docs/api.md section 11). Every token of the user but `keep_token_id`
    (the caller's) is revoked and its sockets closed (4401); other browser sessions end because
    the session hash follows the password (the caller's own is kept by the view), and their
    sockets are closed (4401) too, all but those of the session tagged `keep_session`."""
    if not isinstance(old_password, str) or not user.check_password(old_password):
        raise invalid({"old_password": [gettext("Wrong password.")]})
    if not isinstance(new_password, str) or not new_password:
        raise invalid({"new_password": [gettext("This field is required.")]})
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise invalid({"new_password": list(exc.messages)}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        do_end_other_logins(user, keep_token_id, keep_session)


def do_end_other_logins(user: User, keep_token_id: int | None = None, keep_session: str | None = None) -> None:
    """After a new password (changed, or reset by email): every token but `keep_token_id` is
    revoked and its sockets closed (4401) once the transaction commits, and so are the sockets
    of every session but the one tagged `keep_session` (their sessions end with the password)."""
    with transaction.atomic():
        others = AccessToken.objects.filter(user=user).exclude(id=keep_token_id)
        token_ids = list(others.values_list("id", flat=True))
        RefreshToken.objects.filter(user=user, revoked__isnull=True).exclude(
            access_token_id=keep_token_id).update(revoked=timezone.now())
        others.delete()
        transaction.on_commit(lambda: _close_sockets(user.id, token_ids, keep_session))


def _close_sockets(user_id: int, token_ids: list[int], keep_session: str | None) -> None:
    for token_id in token_ids:
        send_control(token_group(token_id), {"type": "im.close", "code": 4401})
    send_control(session_sockets_group(user_id), {"type": "im.close", "code": 4401, "keep_session": keep_session})
