"""Moderation in the Django admin: a conversation's messages read from its shard, and a recall
through do_recall that tells every member."""

from django.test import Client

from chat.actions.outbox import queued_frames_of
from chat.actions.send import check_send_message
from chat.models import Message
from conversations.actions.direct import check_open_direct
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def test_moderator_lists_a_conversations_messages_and_recalls_one(make_user, make_friends):
    alice, bob = make_user(), make_user()
    make_friends(alice, bob)
    conversation = check_open_direct(alice, bob.id)[0].conversation
    sent = [check_send_message(alice.id, conversation.id, "text", {"text": f"<b>post {i}</b>"}).message
            for i in range(2)]
    moderator = make_user()
    moderator.is_staff = moderator.is_superuser = True
    moderator.save()
    browser = Client()
    browser.force_login(moderator)
    base = f"/admin/conversations/conversation/{conversation.id}/messages/"

    page = browser.get(base)
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;b&gt;post 1&lt;/b&gt;" in html and "<b>post" not in html  # shown as text
    assert f"shard {conversation.shard}" in html
    assert browser.get(f"/admin/conversations/conversation/?q={conversation.id}").status_code == 200

    refused = browser.post(f"{base}{sent[0].msg_id}/recall/")  # a reason is required
    assert refused.status_code == 302
    assert not Message.objects.using(shard_alias(conversation.shard)).get(msg_id=sent[0].msg_id).recalled
    response = browser.post(f"{base}{sent[0].msg_id}/recall/", {"reason": "spam"})
    assert response.status_code == 302
    stored = Message.objects.using(shard_alias(conversation.shard)).get(msg_id=sent[0].msg_id)
    assert stored.recalled and stored.content == {} and stored.recalled_by == moderator.id
    frame = {"type": "recalled", "msg_id": str(sent[0].msg_id), "conversation_id": conversation.id,
             "by": moderator.id}
    for member in (alice, bob):  # both offline: queued for their next connect
        assert [f for _, f in queued_frames_of([member.id])[member.id] if f["type"] == "recalled"] == [frame]
    assert browser.get(f"{base}999/recall/").status_code == 405  # POST only
    assert browser.post(f"{base}999/recall/", {"reason": "spam"}).status_code == 404

    member = Client()
    member.force_login(alice)  # not staff: the admin refuses
    assert member.get(base).status_code == 302
