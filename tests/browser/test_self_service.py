"""Account self-service through the page: a new display name in Settings, a sent friend request
taken back, a chat hidden and brought back from "Hidden chats", and blocking from a profile card."""

import pytest
from playwright.sync_api import expect

from tests.browser.ui import conversation_item, register
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def test_profile_cancel_hide_and_block(open_page):
    ann, ben = open_page(), open_page()
    register(ann, "ann_ss", "Ann Archer")
    register(ben, "ben_ss", "Ben Baker")

    # A new display name, shown at once in the top bar.
    ann.get_by_role("button", name="Settings").click()
    dialog = ann.get_by_role("dialog", name="Settings")
    dialog.get_by_label("Display name").fill("Ann the Second")
    dialog.get_by_role("button", name="Save profile").click()
    expect(ann.locator("#me-name")).to_have_text("Ann the Second")
    dialog.get_by_role("button", name="Close").click()

    # A request sent, then taken back: it leaves both sides' lists.
    ann.get_by_role("button", name="Contacts").click()
    ann.get_by_label("Find people").fill("ben_ss")
    ann.get_by_role("list", name="People found").get_by_role("listitem").filter(has_text="Ben Baker") \
        .get_by_role("button", name="Add friend").click()
    ben.get_by_role("button", name="Contacts").click()
    incoming = ben.get_by_role("list", name="Incoming requests").get_by_role("listitem")
    expect(incoming.filter(has_text="Ann the Second")).to_have_count(1)
    sent = ann.get_by_role("list", name="Outgoing requests").get_by_role("listitem").filter(has_text="Ben Baker")
    sent.get_by_role("button", name="Cancel request").click()
    expect(sent).to_have_count(0)
    expect(incoming).to_have_count(0)

    # Friends after all; Ben's chat is hidden, then brought back from "Hidden chats".
    ann.get_by_role("list", name="People found").get_by_role("listitem").filter(has_text="Ben Baker") \
        .get_by_role("button", name="Add friend").click()
    incoming.filter(has_text="Ann the Second").get_by_role("button", name="Accept").click()
    ben.get_by_role("list", name="Friends").get_by_role("listitem").filter(has_text="Ann the Second") \
        .get_by_role("button", name="Message").click()
    ben.get_by_role("textbox", name="Message").fill("hi")
    ben.get_by_role("button", name="Send").click()
    ann.get_by_role("button", name="Chats").click()
    item = conversation_item(ann, "Ben Baker")
    item.get_by_role("button", name="Options for Ben Baker").click()
    ann.get_by_role("menuitem", name="Hide").click()
    expect(item).to_have_count(0)
    ann.get_by_role("button", name="Hidden chats").click()
    hidden = ann.get_by_role("dialog", name="Hidden chats")
    hidden.get_by_role("listitem").filter(has_text="Ben Baker").get_by_role("button", name="Show in chats").click()
    expect(conversation_item(ann, "Ben Baker")).to_have_count(1)

    # Ben blocks Ann from her profile card.
    ben.get_by_role("button", name="Contacts").click()
    ben.get_by_role("list", name="Friends").get_by_role("button", name="Ann the Second").click()
    card = ben.get_by_role("dialog", name="Ann the Second")
    card.get_by_role("button", name="Block").click()
    ben.get_by_role("dialog", name="Block user").get_by_role("button", name="Confirm").click()
    expect(ben.get_by_role("list", name="Blocked users").get_by_role("listitem").filter(has_text="Ann the Second")) \
        .to_have_count(1)
