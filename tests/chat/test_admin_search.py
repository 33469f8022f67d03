"""Admin moderation across shards: search by text, sender and conversation; the message page with
sender and conversation by name; recall and erase with a reason, recorded in the admin log;
attachments and calls read-only; a user's page linking to their conversations and groups; staff
without the permission refused."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from chat.actions.send import check_send_message
from chat.models import Attachment, Message
from conversations.actions.direct import check_open_direct
from imsite.shards import shard_alias
from tests.attachments.samples import image_bytes
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


@pytest.fixture
def chat(make_user, make_friends):
    alice, bob, carol = make_user("alice", "Alice A."), make_user("bob"), make_user("carol")
    make_friends(alice, bob)
    make_friends(alice, carol)
    ab = check_open_direct(alice, bob.id)[0].conversation
    ac = check_open_direct(alice, carol.id)[0].conversation
    sent = {
        "spam_ab": check_send_message(alice.id, ab.id, "text", {"text": "Buy CHEAP pills"}).message,
        "hello_ab": check_send_message(bob.id, ab.id, "text", {"text": "hello alice"}).message,
        "spam_ac": check_send_message(alice.id, ac.id, "text", {"text": "cheap pills again"}).message,
    }
    return {"alice": alice, "bob": bob, "ab": ab, "ac": ac, **sent}


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def moderator(make_user):
    user = make_user("mod")
    user.is_staff = user.is_superuser = True
    user.save()
    return _browser(user), user


SEARCH = "/admin/conversations/conversation/messages/search/"


def _found(browser, **query) -> set[int]:
    page = browser.get(SEARCH, query)
    assert page.status_code == 200
    return {int(m) for m in re.findall(r'/messages/(\d+)/"', page.text)}


def test_search_across_shards_by_text_sender_and_conversation(chat, moderator):
    browser, _ = moderator
    spam = {chat["spam_ab"].msg_id, chat["spam_ac"].msg_id}
    assert _found(browser, q="cheap") == spam  # case-insensitive, every shard
    assert _found(browser, sender="bob") == {chat["hello_ab"].msg_id}
    assert _found(browser, q="cheap", conversation=chat["ac"].id) == {chat["spam_ac"].msg_id}
    assert _found(browser, sender="nobody") == set()
    page = browser.get(SEARCH, {"sender": "alice"}).text
    assert "Alice A." in page and f"/admin/accounts/user/{chat['alice'].id}/change/" in page


def test_message_page_recall_and_erase_with_a_reason_in_the_admin_log(chat, moderator, make_user):
    browser, mod = moderator
    ab, message = chat["ab"], chat["spam_ab"]
    base = f"/admin/conversations/conversation/{ab.id}/messages/{message.msg_id}/"
    page = browser.get(base)
    assert page.status_code == 200
    assert "Alice A." in page.text and f"/admin/accounts/user/{chat['alice'].id}/change/" in page.text
    assert f"/admin/conversations/conversation/{ab.id}/messages/" in page.text
    assert browser.post(base + "recall/", {"reason": "advertising"}).status_code == 302
    stored = Message.objects.using(shard_alias(ab.shard)).get(msg_id=message.msg_id)
    assert stored.recalled and stored.content == {}
    [entry] = LogEntry.objects.filter(object_id=str(message.msg_id))
    assert entry.user_id == mod.id and entry.change_message == "Recalled. Reason: advertising"
    assert "advertising" in browser.get(base).text  # the page shows its history

    # erase: an image message's files go too
    alice = chat["alice"]
    image = Attachment.objects.create(uploader=alice, kind="image", name="x.png", content_type="image/png",
                                      size=10, file=default_storage.save("attachments/test/x.png",
                                                                         ContentFile(image_bytes("PNG"))))
    sent = check_send_message(alice.id, ab.id, "image", {"attachment_id": image.id}).message
    path = image.file.name
    erase = f"/admin/conversations/conversation/{ab.id}/messages/{sent.msg_id}/erase/"
    assert browser.post(erase, {"reason": ""}).status_code == 302  # no reason: nothing happens
    assert default_storage.exists(path)
    assert browser.post(erase, {"reason": "illegal picture"}).status_code == 302
    assert not default_storage.exists(path)
    image.refresh_from_db()
    assert image.size == 0 and not image.file
    assert Message.objects.using(shard_alias(ab.shard)).get(msg_id=sent.msg_id).recalled
    [entry] = LogEntry.objects.filter(object_id=str(sent.msg_id))
    assert entry.user_id == mod.id and "illegal picture" in entry.change_message


def test_staff_without_the_permission_is_refused(chat, make_user):
    ab, message = chat["ab"], chat["spam_ab"]
    staff = make_user("helper")
    staff.is_staff = True
    staff.save()
    browser = _browser(staff)
    base = f"/admin/conversations/conversation/{ab.id}/messages/"
    assert browser.get(SEARCH, {"q": "cheap"}).status_code == 403
    assert browser.get(f"{base}{message.msg_id}/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    browser = _browser(staff)
    assert browser.get(SEARCH, {"q": "cheap"}).status_code == 200  # may read
    assert "Erase" not in browser.get(f"{base}{message.msg_id}/").text
    for action in ("recall", "erase"):  # may not act
        assert browser.post(f"{base}{message.msg_id}/{action}/", {"reason": "x"}).status_code == 403
    assert not Message.objects.using(shard_alias(ab.shard)).get(msg_id=message.msg_id).recalled
    assert not LogEntry.objects.filter(object_id=str(message.msg_id)).exists()


def test_attachments_and_calls_are_read_only_and_users_link_to_their_chats(chat, moderator):
    browser, _ = moderator
    for model in ("attachment", "call"):
        assert browser.get(f"/admin/chat/{model}/").status_code == 200
        assert browser.get(f"/admin/chat/{model}/add/").status_code == 403
    page = browser.get(f"/admin/accounts/user/{chat['alice'].id}/change/").text
    assert f"?memberships__user__id__exact={chat['alice'].id}" in page
    assert f"?user__id__exact={chat['alice'].id}" in page
    listed = browser.get(f"/admin/conversations/conversation/?memberships__user__id__exact={chat['alice'].id}")
    assert listed.status_code == 200 and chat["ab"].id in listed.text and chat["ac"].id in listed.text
