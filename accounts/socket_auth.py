"""Who is on the other end of a socket: a bearer token (header or `?access_token=`) or the
session cookie from an allowed Origin. The result is put in scope["im_auth"]; the consumer
accepts every connection and closes refused ones with the code of docs/api.md section 5, so every client can
read why (4401 unauthenticated or revoked, 4403 disabled account or foreign Origin)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts.actions.tokens import session_tag, token_checksum
from imsite.batching import batcher


@dataclass(frozen=True)
class SocketAuth:
    user_id: int | None = None
    token_id: int | None = None
    close_code: int | None = None
    session: str | None = None  # session_tag() of the session cookie's session


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _bearer(scope: dict) -> str | None:
    header = _header(scope, b"authorization")
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("access_token")
    return values[0] if values else None


def authenticate_tokens(tokens: Sequence[str]) -> list[SocketAuth]:
    """The sockets' bearer tokens, looked up together by their indexed checksum (one query for
    every socket connecting at the same moment: a batch, imsite/batching.py)."""
    checksums = [token_checksum(token) for token in tokens]
    found = {access.token_checksum: access for access in
             get_access_token_model().objects.select_related("user").filter(token_checksum__in=set(checksums))}
    now = timezone.now()
    return [_auth_of(found.get(checksum), now) for checksum in checksums]


def _auth_of(access: Any, now: datetime) -> SocketAuth:
    if access is None or access.expires < now or access.user is None:
        return SocketAuth(close_code=4401)
    if not access.user.is_active:
        return SocketAuth(close_code=4403)
    return SocketAuth(user_id=access.user_id, token_id=access.id)


def origin_allowed(origin: str | None) -> bool:
    if not origin:
        return False
    host, _ = split_domain_port(urlsplit(origin).netloc)
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


def session_auth(scope: dict) -> SocketAuth:
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return SocketAuth(close_code=4401)
    if not origin_allowed(_header(scope, b"origin")):
        return SocketAuth(close_code=4403)
    if not user.is_active:
        return SocketAuth(close_code=4403)
    return SocketAuth(user_id=user.id, session=session_tag(scope["session"].session_key))


class SocketAuthMiddleware:
    """A bearer token is checked in the batch of this moment's connects; without one, the
    session cookie is read through Channels' session and auth middleware (a database hop that
    token clients, the great majority, do not pay)."""

    def __init__(self, app):
        self.app = app
        self.with_session = AuthMiddlewareStack(self._session_checked)

    async def __call__(self, scope, receive, send):
        token = _bearer(scope)
        if token is None:
            return await self.with_session(scope, receive, send)
        auth = await batcher("auth", authenticate_tokens).submit(token)
        return await self.app(dict(scope, im_auth=auth), receive, send)

    async def _session_checked(self, scope, receive, send):
        return await self.app(dict(scope, im_auth=session_auth(scope)), receive, send)
