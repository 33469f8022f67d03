"""POST /api/v1/auth/register (docs/api.md section 1)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User

pytestmark = pytest.mark.django_db(databases="__all__")

GOOD = "a long pass phrase"


def register(body, **extra):
    return APIClient().post("/api/v1/auth/register", body, format="json", **extra)


def assert_invalid(response, *fields: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and isinstance(error["message"], str)
    for field in fields:
        assert error["fields"][field] and all(isinstance(m, str) for m in error["fields"][field]), error


def test_register_answers_the_user_object():
    response = register({"username": "Alice_01", "password": GOOD, "display_name": "  Alice A.  "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {"id": body["id"], "username": "Alice_01", "display_name": "Alice A.", "avatar_url": None}
    assert User.objects.get(id=body["id"]).check_password(GOOD)


def test_display_name_defaults_to_the_username():
    body = register({"username": "bob", "password": GOOD}).json()
    assert body["display_name"] == "bob"


def test_taken_username_in_any_case_is_conflict():
    assert register({"username": "alice", "password": GOOD}).status_code == 201
    for name in ("alice", "ALICE", "aLiCe"):
        response = register({"username": name, "password": GOOD})
        assert response.status_code == 409, name
        assert response.json()["error"]["code"] == "conflict"
    assert User.objects.filter(username__iexact="alice").count() == 1


@pytest.mark.parametrize("username", ["ab", "a" * 33, "héllo", "with space", "dash-name", "名前名前", "",
                                      " alice", "alice\n"])
def test_bad_usernames_are_invalid(username):
    assert_invalid(register({"username": username, "password": GOOD}), "username")
    assert not User.objects.exists()


def test_username_length_bounds_are_inclusive():
    assert register({"username": "abc", "password": GOOD}).status_code == 201
    assert register({"username": "b" * 32, "password": GOOD}).status_code == 201


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "alice_pw_alice"[:8] + "x", "qwertyuiop"])
def test_weak_passwords_go_through_djangos_validators(password):
    response = register({"username": "alice", "password": password})
    assert_invalid(response, "password")
    assert not User.objects.exists()


def test_password_similar_to_the_username_is_refused():
    assert_invalid(register({"username": "margaretha", "password": "margaretha1"}), "password")


@pytest.mark.parametrize("body, field", [
    ({"username": 12345, "password": GOOD}, "username"),
    ({"username": ["alice"], "password": GOOD}, "username"),
    ({"username": "alice", "password": 12345678901234}, "password"),
    ({"username": "alice", "password": None}, "password"),
    ({"username": "alice", "password": GOOD, "display_name": 5}, "display_name"),
    ({"username": "alice", "password": GOOD, "display_name": {"x": 1}}, "display_name"),
    ({"username": "alice", "password": GOOD, "display_name": "x" * 65}, "display_name"),
])
def test_wrong_types_and_long_fields_are_invalid(body, field):
    assert_invalid(register(body), field)
    assert not User.objects.exists()


def test_missing_fields_are_listed():
    assert_invalid(register({}), "username", "password")
    assert_invalid(register({"username": "alice"}), "password")
    assert_invalid(register({"password": GOOD}), "username")
    assert not User.objects.exists()


@pytest.mark.parametrize("raw", ["[1, 2]", '"alice"', "5", "null", "{not json"])
def test_a_body_that_is_not_a_json_object_is_invalid(raw):
    response = APIClient().post("/api/v1/auth/register", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
