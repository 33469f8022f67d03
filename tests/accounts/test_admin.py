"""The Django admin for operators: users, friendships, friend requests, blocks, OAuth apps."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from accounts.actions import friends
from accounts.models import User

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def admin_client_for_staff() -> Client:
    User.objects.create_superuser("root", password="an operator's long password")
    client = Client()
    assert client.login(username="root", password="an operator's long password")
    return client


def test_admin_pages(admin_client_for_staff, make_user, make_friends):
    client = admin_client_for_staff
    alice, bob, carol = make_user("alice", "Wonderland"), make_user("bob"), make_user("carol")
    make_friends(alice, bob)
    friends.check_send_request(carol, alice.id)
    friends.check_block(carol, bob.id)
    for path in ("/admin/accounts/user/", "/admin/accounts/friendship/", "/admin/accounts/friendrequest/",
                 "/admin/accounts/block/", "/admin/oauth2_provider/application/",
                 "/admin/oauth2_provider/accesstoken/", f"/admin/accounts/user/{alice.id}/change/",
                 "/admin/accounts/user/add/"):
        assert client.get(path).status_code == 200, path
    found = client.get("/admin/accounts/user/", {"q": "wonder"}).content.decode()
    assert "alice" in found and "carol" not in found
    assert b"Wonderland" in client.get("/admin/accounts/user/").content


def test_an_operator_disables_an_account(admin_client_for_staff, make_user, client_for):
    alice = make_user("alice")
    api = client_for(alice)
    client = admin_client_for_staff
    page = client.get(f"/admin/accounts/user/{alice.id}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"username": "alice", "display_name": "Alice", "date_joined_0": "2026-01-01",
                 "date_joined_1": "00:00:00", "groups": [], "user_permissions": []})
    data.pop("is_active", None)  # an unticked checkbox is absent from the form
    data.pop("last_login", None)
    data.pop("date_joined", None)
    response = client.post(f"/admin/accounts/user/{alice.id}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    alice.refresh_from_db()
    assert not alice.is_active and alice.display_name == "Alice"
    assert api.get("/api/v1/me").status_code == 401  # a disabled account's token stops working
    # the admin log says who disabled whom, and when
    entry = LogEntry.objects.filter(object_id=str(alice.id), content_type__model="user").latest("action_time")
    assert entry.user.username == response.wsgi_request.user.username and "Active" in entry.get_change_message()
