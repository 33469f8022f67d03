"""Two people sign up, become friends and chat, all through the page."""

import pytest
from playwright.sync_api import expect

from tests.browser.ui import (
    conversation_item,
    message_with_text,
    open_conversation,
    register,
    send_text,
    texts,
)
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def test_sign_up_befriend_and_chat_until_read(open_page):
    ann, ben = open_page(), open_page()
    register(ann, "ann_b", "Ann Archer")
    register(ben, "ben_b", "Ben Baker")

    # Ann finds Ben and asks; Ben sees the request arrive live and accepts it.
    ann.get_by_role("button", name="Contacts").click()
    ann.get_by_label("Find people").fill("ben_b")
    found = ann.get_by_role("list", name="People found").get_by_role("listitem").filter(has_text="Ben Baker")
    found.get_by_role("button", name="Add friend").click()
    expect(found.get_by_text("Request sent")).to_be_visible()
    ben.get_by_role("button", name="Contacts").click()
    request = ben.get_by_role("list", name="Incoming requests").get_by_role("listitem").filter(has_text="Ann Archer")
    request.get_by_role("button", name="Accept").click()
    friend = ben.get_by_role("list", name="Friends").get_by_role("listitem").filter(has_text="Ann Archer")
    friend.get_by_role("button", name="Message").click()
    expect(ben.locator("#conversation-title")).to_have_text("Ann Archer")

    # Ben writes first; Ann has no conversation open: an unread badge, then she reads it.
    send_text(ben, "Hi Ann, it's Ben")
    own = message_with_text(ben, "Hi Ann, it's Ben")
    expect(own).to_have_attribute("data-status", "delivered")
    ann.get_by_role("button", name="Chats").click()
    item = conversation_item(ann, "Ben Baker")
    expect(item.get_by_role("img", name="1 unread")).to_be_visible()
    open_conversation(ann, "Ben Baker")
    expect(message_with_text(ann, "Hi Ann, it's Ben")).to_be_visible()
    expect(own).to_have_attribute("data-status", "read")
    expect(item.get_by_role("img", name="1 unread")).to_have_count(0)
    assert message_with_text(ann, "Hi Ann, it's Ben").get_attribute("data-status") is None

    # Ann answers with two lines (Shift+Enter); Ben has the chat open, so it is read at once.
    box = ann.get_by_role("textbox", name="Message")
    box.fill("Hello Ben!")
    box.press("Shift+Enter")
    box.press_sequentially("Second line")
    box.press("Enter")
    reply = message_with_text(ann, "Second line")
    expect(reply).to_have_attribute("data-status", "read")
    expect(message_with_text(ben, "Second line")).to_be_visible()
    assert texts(ben) == ["Hi Ann, it's Ben", "Hello Ben!\nSecond line"]
    seqs = [int(s) for s in ben.locator("ol.messages > li.msg").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs) and len(set(seqs)) == 2
    assert ann.recorder.errors == [] and ben.recorder.errors == []
