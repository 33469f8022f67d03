"""Language negotiation (docs/api.md section 12): the user's choice (`language` on /api/v1/me),
else Accept-Language, else English, for the pages, the browser client's catalogue and the REST
error messages, whose codes never change."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(databases="__all__")

ZH = "zh-CN,zh;q=0.9,en;q=0.5"


def test_language_on_me_is_null_until_chosen_then_patchable(make_user, client_for):
    client = client_for(make_user("alice"))
    assert client.get("/api/v1/me").json()["language"] is None
    response = client.patch("/api/v1/me", {"language": "zh-hans"}, format="json")
    assert response.status_code == 200 and response.json()["language"] == "zh-hans"
    assert client.get("/api/v1/me").json()["language"] == "zh-hans"
    assert client.patch("/api/v1/me", {"language": None}, format="json").json()["language"] is None
    assert client.patch("/api/v1/me", {"language": "en"}, format="json").json()["language"] == "en"


@pytest.mark.parametrize("value", ["fr", "zh", "ZH-HANS", "", 5, ["en"]])
def test_another_language_is_refused(make_user, client_for, value):
    client = client_for(make_user("alice"))
    response = client.patch("/api/v1/me", {"language": value, "display_name": "Changed"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "language" in error["fields"]
    me = client.get("/api/v1/me").json()
    assert me["language"] is None and me["display_name"] == "alice"  # nothing of the request was kept


def test_login_page_follows_accept_language_else_english():
    english = Client().get("/login")
    assert english.status_code == 200 and english["Content-Language"] == "en"
    assert '<html lang="en">' in english.text and "<h1>Log in</h1>" in english.text
    chinese = Client().get("/login", headers={"accept-language": ZH})
    assert chinese["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in chinese.text and "<h1>登录</h1>" in chinese.text
    assert 'for="id_username">用户名<' in chinese.text
    assert "<h1>Log in</h1>" in Client().get("/login", headers={"accept-language": "fr,de"}).text


def test_language_switch_before_sign_in_is_remembered():
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login"})
    assert response.status_code == 302 and response["Location"] == "/login"
    assert "<h1>登录</h1>" in client.get("/login", headers={"accept-language": "en"}).text


def test_the_users_choice_beats_accept_language_on_pages(make_user):
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    assert '<html lang="zh-hans">' in client.get("/", headers={"accept-language": ZH}).text
    alice.language = "en"
    alice.save(update_fields=["language"])
    assert '<html lang="en">' in client.get("/", headers={"accept-language": ZH}).text
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])
    page = client.get("/", headers={"accept-language": "en"})
    assert '<html lang="zh-hans">' in page.text and page["Content-Language"] == "zh-hans"


ONLINE = json.dumps("在线")  # as the catalogue script writes it


def test_ui_catalogue_follows_the_choice_else_the_header(make_user):
    assert ONLINE not in Client().get("/jsi18n/").text
    assert ONLINE in Client().get("/jsi18n/", headers={"accept-language": ZH}).text
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    assert ONLINE not in client.get("/jsi18n/").text
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])
    assert ONLINE in client.get("/jsi18n/", headers={"accept-language": "en"}).text


def test_rest_error_messages_follow_the_language_and_keep_their_codes(make_user, client_for):
    anonymous = APIClient().get("/api/v1/me")
    assert anonymous.json()["error"] == {"code": "unauthenticated", "message": "Authentication is required."}
    anonymous = APIClient().get("/api/v1/me", headers={"accept-language": ZH})
    assert anonymous.json()["error"] == {"code": "unauthenticated", "message": "需要登录。"}

    alice = make_user("alice")
    client = client_for(alice)  # a bearer token: the choice applies once the token is checked
    english = client.patch("/api/v1/me", {"language": "xx"}, format="json").json()["error"]
    assert english["code"] == "invalid" and english["message"] == "Some fields are not valid."
    client.patch("/api/v1/me", {"language": "zh-hans"}, format="json")
    chinese = client.patch("/api/v1/me", {"language": "xx"}, format="json", headers={"accept-language": "en"})
    assert chinese.json()["error"]["code"] == "invalid"
    assert chinese.json()["error"]["message"] == "部分字段无效。"
    assert chinese.json()["error"]["fields"]["language"] == ["可选值：en, zh-hans，或 null。"]
    # Django's own validators speak the language too (their catalogue ships with Django).
    weak = client.post("/api/v1/auth/register", {"username": "bobby", "password": "123"}, format="json",
                       headers={"accept-language": ZH})
    assert weak.json()["error"]["code"] == "invalid"
    assert any("密码" in text for text in weak.json()["error"]["fields"]["password"])
