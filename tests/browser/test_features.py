"""Images, locations, recall, a group of three, and the conversation list's badge and order."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from accounts.models import User
from conversations.actions.direct import check_open_direct
from tests.browser.ui import (
    chatting,
    conversation_item,
    conversation_list,
    in_thread,
    login,
    message_with_text,
    messages,
    open_conversation,
    send_text,
    texts,
)
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


@pytest.fixture
def people(make_user, make_friends):
    """`people("ann", "ben", ...)`: users named e.g. "Ann" (display name), the first one friends
    with every other and holding a direct conversation with each."""

    def make(*names: str) -> list[User]:
        def setup() -> list[User]:
            users = [make_user(f"{name}_f", name.capitalize()) for name in names]
            for other in users[1:]:
                make_friends(users[0], other)
                check_open_direct(users[0], other.id)
            return users

        return in_thread(setup)

    return make


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_location_and_recall_reach_the_other_side(open_page, people):
    people("ann", "ben")
    ann, ben = chatting(open_page)

    ann.locator("input[type=file][accept^='image/']").set_input_files(
        {"name": "sky.png", "mimeType": "image/png", "buffer": png_bytes()})
    image = messages(ben).filter(has=ben.locator("img.msg-image"))
    expect(image).to_have_count(1)
    # The picture really loads for the receiver (an authorised attachment URL, a decodable image).
    expect(image.locator("img")).to_have_js_property("complete", True)
    assert image.locator("img").evaluate("img => img.naturalWidth") > 0
    expect(messages(ann).filter(has=ann.locator("img.msg-image"))).to_have_attribute("data-status", "read")

    ann.get_by_role("button", name="Share location").click()
    ann.get_by_label("Latitude").fill("48.8584")
    ann.get_by_label("Longitude").fill("2.2945")
    ann.get_by_label("Place name (optional)").fill("Eiffel Tower")
    ann.get_by_role("button", name="Send location").click()
    card = messages(ben).filter(has=ben.locator(".msg-location"))
    expect(card.locator(".location-name")).to_have_text("Eiffel Tower")
    expect(card.locator(".location-coords")).to_contain_text("48.8584")
    link = card.get_by_role("link", name="Open in OpenStreetMap")
    assert "openstreetmap.org" in link.get_attribute("href")
    assert "48.8584" in link.get_attribute("href")

    send_text(ann, "oops, wrong chat")
    expect(message_with_text(ben, "oops, wrong chat")).to_be_visible()
    mine = message_with_text(ann, "oops, wrong chat")
    # A receipt re-renders the message and closes its open menu: let the status settle first.
    expect(mine).to_have_attribute("data-status", "read")
    mine.get_by_role("button", name="Message options").click()
    ann.get_by_role("menuitem", name="Recall").click()
    recalled = ben.locator("ol.messages > li.msg[data-recalled=true]")
    expect(recalled).to_have_count(1)
    expect(recalled).to_contain_text("Message recalled")
    # Gone from the whole page at once, the screen-reader announcement of its arrival included
    # (announcements otherwise stay 15 s).
    expect(ben.locator("#live-region")).not_to_contain_text("oops, wrong chat", timeout=5000)
    expect(ben.get_by_text("oops, wrong chat")).to_have_count(0, timeout=5000)
    expect(ann.locator("ol.messages > li.msg[data-recalled=true]")).to_have_count(1)
    assert ann.recorder.errors == [] and ben.recorder.errors == []


def test_group_of_three_chats(open_page, people, make_friends):
    ann_user, ben_user, cat_user = people("ann", "ben", "cat")
    in_thread(make_friends, ben_user, cat_user)
    ann, ben, cat = open_page(), open_page(), open_page()
    for page, username in ((ann, "ann_f"), (ben, "ben_f"), (cat, "cat_f")):
        login(page, username)

    ann.get_by_role("button", name="New group").first.click()
    dialog = ann.get_by_role("dialog", name="New group")
    dialog.get_by_label("Group name").fill("Trio")
    dialog.get_by_label("Ben").check()
    dialog.get_by_label("Cat").check()
    dialog.get_by_role("button", name="Create group").click()
    expect(ann.locator("#conversation-title")).to_have_text("Trio")
    send_text(ann, "welcome, both")
    for page in (ben, cat):
        expect(conversation_item(page, "Trio")).to_be_visible()
        open_conversation(page, "Trio")
        expect(message_with_text(page, "welcome, both")).to_be_visible()
    send_text(ben, "hi from ben")
    expect(message_with_text(cat, "hi from ben")).to_be_visible()
    send_text(cat, "hi from cat")
    for page in (ann, ben, cat):
        expect(message_with_text(page, "hi from cat")).to_be_visible()
        assert texts(page) == ["welcome, both", "hi from ben", "hi from cat"]
    # In a group, others' messages name their sender; own ones carry no per-message status.
    expect(message_with_text(ann, "hi from ben").locator(".msg-sender")).to_have_text("Ben")
    assert message_with_text(ann, "welcome, both").get_attribute("data-status") is None


def test_unread_badge_and_order_follow_new_messages(open_page, people):
    people("ann", "ben", "cat")
    ann, ben, cat = open_page(), open_page(), open_page()
    login(ann, "ann_f")
    login(ben, "ben_f")
    login(cat, "cat_f")
    open_conversation(ben, "Ann")
    open_conversation(cat, "Ann")

    def names() -> list[str]:
        return conversation_list(ann).locator(".conversation-name").all_inner_texts()

    send_text(ben, "one")
    send_text(ben, "two")
    expect(conversation_item(ann, "Ben").get_by_role("img", name="2 unread")).to_be_visible()
    expect(conversation_list(ann).locator(".conversation-name").first).to_have_text("Ben")
    send_text(cat, "from cat")
    expect(conversation_item(ann, "Cat").get_by_role("img", name="1 unread")).to_be_visible()
    expect(conversation_list(ann).locator(".conversation-name").first).to_have_text("Cat")
    assert names() == ["Cat", "Ben"]
    expect(conversation_item(ann, "Cat")).to_contain_text("from cat")  # the preview

    send_text(ben, "three")
    expect(conversation_item(ann, "Ben").get_by_role("img", name="3 unread")).to_be_visible()
    expect(conversation_list(ann).locator(".conversation-name").first).to_have_text("Ben")
    open_conversation(ann, "Ben")
    expect(conversation_item(ann, "Ben").locator(".badge")).to_have_count(0)
    expect(conversation_item(ann, "Cat").get_by_role("img", name="1 unread")).to_be_visible()
    # Read on the server too: a reload shows the same.
    ann.reload()
    expect(conversation_item(ann, "Cat").get_by_role("img", name="1 unread")).to_be_visible()
    expect(conversation_item(ann, "Ben").locator(".badge")).to_have_count(0)
