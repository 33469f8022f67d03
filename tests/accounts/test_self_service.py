"""Account self-service: cancelling a sent friend request, the email address on /api/v1/me, the
hidden chats, password reset by email through Django's views, and the ICE servers on the page."""

import json
import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from accounts.models import FriendRequest
from chat.actions.outbox import queued_frames_of

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_requester_cancels_a_pending_request(make_user, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    sent = client_for(alice).post("/api/v1/friends/requests", {"to_user_id": bob.id}, format="json").json()
    assert client_for(alice).delete(f"/api/v1/friends/requests/{sent['id']}").status_code == 204
    assert FriendRequest.objects.get(id=sent["id"]).status == "cancelled"
    assert client_for(bob).get("/api/v1/friends/requests", {"direction": "incoming"}).json()["results"] == []
    assert client_for(alice).get("/api/v1/friends/requests", {"direction": "outgoing"}).json()["results"] == []
    # the addressee's devices hear of it (bob is offline: queued for his next connect)
    queued = [frame for _, frame in queued_frames_of([bob.id])[bob.id] if frame["type"] == "friend_request"]
    assert [frame["request"]["status"] for frame in queued] == ["pending", "cancelled"]
    assert not queued_frames_of([alice.id])[alice.id]
    # cancelling again changes nothing; a new request can follow
    assert client_for(alice).delete(f"/api/v1/friends/requests/{sent['id']}").status_code == 204
    again = client_for(alice).post("/api/v1/friends/requests", {"to_user_id": bob.id}, format="json")
    assert again.status_code == 201


def test_only_the_requester_may_cancel_and_only_while_pending(make_user, client_for):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    sent = client_for(alice).post("/api/v1/friends/requests", {"to_user_id": bob.id}, format="json").json()
    for outsider in (bob, carol):  # the addressee answers with accept/reject; others learn nothing
        response = client_for(outsider).delete(f"/api/v1/friends/requests/{sent['id']}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client_for(alice).delete("/api/v1/friends/requests/999999999").status_code == 404
    client_for(bob).post(f"/api/v1/friends/requests/{sent['id']}/accept")
    late = client_for(alice).delete(f"/api/v1/friends/requests/{sent['id']}")
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    assert FriendRequest.objects.get(id=sent["id"]).status == "accepted"


def test_email_on_me(make_user, client_for):
    client = client_for(make_user("alice"))
    assert client.get("/api/v1/me").json()["email"] == ""
    assert client.patch("/api/v1/me", {"email": " alice@example.com "}, format="json").json()["email"] == \
        "alice@example.com"
    bad = client.patch("/api/v1/me", {"email": "not an address"}, format="json")
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]
    assert client.patch("/api/v1/me", {"email": ""}, format="json").json()["email"] == ""


def test_hidden_chats_are_listed_apart_and_come_back(make_user, make_friends, client_for):
    alice, bob = make_user("alice"), make_user("bob")
    make_friends(alice, bob)
    client = client_for(alice)
    conv = client.post("/api/v1/conversations/direct", {"user_id": bob.id}, format="json").json()
    assert client.get("/api/v1/conversations", {"hidden": "true"}).json()["results"] == []
    client.patch(f"/api/v1/conversations/{conv['id']}", {"hidden": True}, format="json")
    assert [c["id"] for c in client.get("/api/v1/conversations").json()["results"]] == []
    assert [c["id"] for c in client.get("/api/v1/conversations", {"hidden": "true"}).json()["results"]] == [conv["id"]]
    client.patch(f"/api/v1/conversations/{conv['id']}", {"hidden": False}, format="json")
    assert [c["id"] for c in client.get("/api/v1/conversations").json()["results"]] == [conv["id"]]


def test_password_reset_by_email(make_user, client_for):
    alice = make_user("alice")
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    phone = client_for(alice)  # a device signed in with the old password
    assert phone.get("/api/v1/me").status_code == 200
    browser = Client()
    assert browser.post("/password-reset", {"email": "nobody@example.com"}).status_code == 302
    assert mail.outbox == []  # no account: no mail, and the page says the same
    response = browser.post("/password-reset", {"email": "alice@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    link = re.search(r"http://testserver(/password-reset/\S+)", mail.outbox[0].body).group(1)
    form = browser.get(link, follow=True)  # Django moves the token into the session first
    assert form.status_code == 200 and "new_password1" in form.text
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": "a fresh passphrase 42",
                                                      "new_password2": "a fresh passphrase 42"})
    assert done.status_code == 302 and done["Location"] == "/password-reset/done"
    alice.refresh_from_db()
    assert alice.check_password("a fresh passphrase 42")
    assert phone.get("/api/v1/me").status_code == 401  # its token was revoked with the old password
    assert "not valid" in Client().get(link, follow=True).text  # the link works once


def test_password_reset_mail_speaks_the_language_of_the_request(make_user):
    alice = make_user("alice")
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    Client().post("/password-reset", {"email": "alice@example.com"}, headers={"accept-language": "zh-CN"})
    assert mail.outbox[0].subject == "重置你的聊天密码" and "你好" in mail.outbox[0].body


def test_the_file_backend_is_the_default():
    from imsite import settings as product_settings

    assert product_settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"


@override_settings(IM_ICE_SERVERS=[{"urls": "turn:turn.example.com:3478", "username": "im", "credential": "s"}])
def test_ice_servers_reach_the_page_as_a_json_block(make_user):
    browser = Client()
    browser.force_login(make_user("alice"))
    page = browser.get("/").text
    block = re.search(r'<script id="im-ice-servers" type="application/json">(.*?)</script>', page).group(1)
    assert json.loads(block) == [{"urls": "turn:turn.example.com:3478", "username": "im", "credential": "s"}]


@override_settings(IM_EDIT_WINDOW=60)
def test_the_edit_window_reaches_the_page_as_a_json_block(make_user):
    browser = Client()
    browser.force_login(make_user("alice"))
    page = browser.get("/").text
    block = re.search(r'<script id="im-edit-window" type="application/json">(.*?)</script>', page).group(1)
    assert json.loads(block) == 60
