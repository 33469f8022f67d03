"""POST /api/v1/auth/token, /refresh and /logout (docs/api.md section 1)."""

import pytest
from django.conf import settings
from oauth2_provider.models import RefreshToken
from oauth2_provider.settings import oauth2_settings
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")


def post(path: str, body: dict | None = None, token: str | None = None):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(path, body or {}, format="json")


def me(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/me")


def assert_token_response(body: dict, user) -> None:
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in", "user", "ws_url"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS
    assert body["user"] == {"id": user.id, "username": user.username, "display_name": user.shown_name,
                            "avatar_url": None}
    assert body["ws_url"] == settings.IM_PUBLIC_WS_URL  # no node registered: this one
    assert body["scope"] == "im"  # an extension (docs/websocket.md)
    assert body["access_token"] != body["refresh_token"]


def test_token_shape_and_the_token_works(make_user):
    alice = make_user("alice", "Alice")
    response = post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert_token_response(response.json(), alice)
    assert me(response.json()["access_token"]).json()["id"] == alice.id


def test_username_is_matched_regardless_of_case(make_user):
    alice = make_user("alice")
    response = post("/api/v1/auth/token", {"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["user"]["id"] == alice.id


@pytest.mark.parametrize("body", [
    {"username": "alice", "password": "wrong password"},
    {"username": "nobody", "password": PASSWORD},
    {"username": "alice"},
    {},
    {"username": ["alice"], "password": PASSWORD},
    {"username": "alice", "password": 5},
])
def test_wrong_credentials_are_401(make_user, body):
    make_user("alice")
    response = post("/api/v1/auth/token", body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_disabled_account_cannot_log_in(make_user):
    alice = make_user("alice")
    alice.is_active = False
    alice.save()
    assert post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}).status_code == 401


def test_refresh_gives_a_new_refresh_token_and_the_old_one_stops(make_user):
    alice = make_user("alice")
    first = post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}).json()
    response = post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.content
    second = response.json()
    assert_token_response(second, alice)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert me(second["access_token"]).status_code == 200
    again = post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthenticated"
    # the new one works once
    assert post("/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]}).status_code == 200


@pytest.mark.parametrize("body", [{"refresh_token": "unknown"}, {}, {"refresh_token": 5}, {"refresh_token": ""}])
def test_unknown_refresh_token_is_401(body):
    response = post("/api/v1/auth/refresh", body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_logout_revokes_the_token_and_its_refresh_token(make_user):
    make_user("alice")
    tokens = post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}).json()
    other = post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}).json()
    assert post("/api/v1/auth/logout", token=tokens["access_token"]).status_code == 204
    response = me(tokens["access_token"])
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
    assert post("/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert me(other["access_token"]).status_code == 200  # another login of the same user stays


def test_logout_without_credentials_is_401():
    response = post("/api/v1/auth/logout")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_refresh_token_found_by_its_checksum(make_user):
    """Only the checksum is needed to find a refresh token (RFC 9700 storage blanks the token)."""
    make_user("alice")
    first = post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}).json()
    RefreshToken.objects.update(token="")
    assert post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}).status_code == 200
