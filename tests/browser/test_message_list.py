"""How the message list reads: links, runs of one sender with avatars and names, the "New
messages" divider, the unread total in a hidden tab's title, and the message buttons on a phone."""

import pytest
from playwright.sync_api import Page, expect

from chat.actions.send import check_send_message
from conversations.actions.direct import direct_id
from groups.actions.manage import check_create_group
from tests.browser.conftest import PHONE
from tests.browser.test_features import people  # noqa: F401 (fixture)
from tests.browser.ui import (
    chatting,
    conversation_item,
    in_thread,
    login,
    message_with_text,
    messages,
    open_conversation,
    send_text,
)
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def hide(page: Page) -> None:
    """The tab goes to the background, as far as the page can tell (headless Chromium has no
    other window to put in front of it)."""
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        document.dispatchEvent(new Event('visibilitychange'));
    }""")


def show(page: Page) -> None:
    page.evaluate("""() => {
        delete document.visibilityState;
        delete document.hidden;
        document.dispatchEvent(new Event('visibilitychange'));
    }""")


def test_addresses_become_links_and_every_character_stays_text(open_page, people):  # noqa: F811
    people("ann", "ben")
    ann, ben = chatting(open_page)
    text = "docs: https://example.com/a_(b)?x=1&y=<i>2</i>, also www.example.org/path. <script>alert(1)</script>"
    send_text(ann, text)
    message = message_with_text(ben, "docs:")
    expect(message).to_be_visible()
    assert message.locator(".msg-text").inner_text() == text
    links = message.get_by_role("link")
    expect(links).to_have_count(2)
    first, second = links.nth(0), links.nth(1)
    # An address ends at an angle bracket, and a sentence's closing punctuation is not part of it.
    expect(first).to_have_text("https://example.com/a_(b)?x=1&y=")
    expect(second).to_have_text("www.example.org/path")
    assert second.get_attribute("href") == "https://www.example.org/path"
    for link in (first, second):
        assert link.get_attribute("rel") == "noopener noreferrer nofollow"
        assert link.get_attribute("target") == "_blank"
    # Markup in the text is shown, never run or parsed.
    expect(message.locator("script, i")).to_have_count(0)
    assert ann.recorder.dialogs == [] and ben.recorder.dialogs == []


def test_group_runs_avatars_names_and_new_messages_divider(open_page, people, make_friends):  # noqa: F811
    ann_user, ben_user, cat_user = people("ann", "ben", "cat")
    in_thread(make_friends, ben_user, cat_user)
    group = in_thread(check_create_group, ann_user, "Trio", [ben_user.id, cat_user.id])

    def say(user, text: str) -> None:
        in_thread(check_send_message, user.id, group.conversation_id, "text", {"text": text})

    say(ann_user, "plan for saturday?")
    ann = open_page()
    login(ann, "ann_f")
    open_conversation(ann, "Trio")
    expect(message_with_text(ann, "plan for saturday?")).to_be_visible()
    # Ann leaves the conversation; three messages arrive while she is elsewhere.
    ann.goto("/")
    say(ben_user, "I can drive")
    say(ben_user, "leaving at 8")
    say(cat_user, "count me in")
    expect(conversation_item(ann, "Trio").get_by_role("img", name="3 unread")).to_be_visible()
    open_conversation(ann, "Trio")
    expect(messages(ann)).to_have_count(5)  # the group's creation, then four texts

    # The divider sits right above the first unread message.
    divider = ann.get_by_role("separator", name="New messages")
    expect(divider).to_be_visible()
    drive, leaving = message_with_text(ann, "I can drive"), message_with_text(ann, "leaving at 8")
    assert divider.evaluate("d => d.nextElementSibling.dataset.msgId") == drive.get_attribute("data-msg-id")

    # Ben's two messages are one run: his name above the first, his avatar beside the last.
    expect(drive.locator(".msg-sender")).to_have_text("Ben")
    expect(leaving.locator(".msg-sender")).to_have_count(0)
    expect(drive.locator(".msg-avatar .avatar")).to_have_count(0)
    expect(leaving.locator(".msg-avatar .avatar")).to_have_count(1)
    cat = message_with_text(ann, "count me in")
    expect(cat.locator(".msg-sender")).to_have_text("Cat")
    # Own messages carry neither.
    expect(message_with_text(ann, "plan for saturday?").locator(".msg-avatar, .msg-sender")).to_have_count(0)
    # Avatar colours are hashed from ids: neighbouring ids (1, 2, 3...) spread over the colour wheel
    # instead of all landing within a few degrees of one another.
    hues = ann.evaluate("async (ids) => { const { hueFor } = await import('/static/im/format.js');"
                        " return ids.map(hueFor); }", [*range(1, 13), ben_user.id])
    steps = [min(abs(a - b), 360 - abs(a - b)) for a, b in zip(hues[:11], hues[1:12], strict=True)]
    assert sum(steps) / len(steps) > 45 and max(hues[:12]) - min(hues[:12]) > 180, hues
    hue = "el => Number(getComputedStyle(el).getPropertyValue('--avatar-hue'))"
    assert leaving.locator(".avatar").evaluate(hue) == hues[12]


def test_hidden_tab_shows_the_unread_total_in_its_title(open_page, people):  # noqa: F811
    ann_user, ben_user, cat_user = people("ann", "ben", "cat")
    ann = open_page()
    login(ann, "ann_f")
    open_conversation(ann, "Ben")
    expect(ann).to_have_title("Ben · Chat")
    expect(ann.get_by_text("No messages yet. Say hello!")).to_be_visible()  # its history is loaded
    hide(ann)
    for user, text in ((ben_user, "psst"), (ben_user, "still there?"), (cat_user, "hello")):
        in_thread(check_send_message, user.id, direct_id(user.id, ann_user.id), "text", {"text": text})
    expect(ann).to_have_title("(3) Ben · Chat")
    show(ann)
    # Back in view: the open conversation is read, the other one still counts but only when hidden.
    expect(ann).to_have_title("Ben · Chat")
    expect(conversation_item(ann, "Cat").get_by_role("img", name="1 unread")).to_be_visible()
    hide(ann)
    expect(ann).to_have_title("(1) Ben · Chat")


def test_message_buttons_stay_beside_the_bubble_on_a_phone(open_page, people):  # noqa: F811
    people("ann", "ben")
    ann = open_page(PHONE)
    login(ann, "ann_f")
    open_conversation(ann, "Ben")
    send_text(ann, "a long message that fills the whole width of a phone screen " * 3)
    send_text(ann, "short")
    for text in ("a long message", "short"):
        message = message_with_text(ann, text)
        expect(message).to_have_attribute("data-status", "sent")
        bubble = message.locator(".msg-bubble").bounding_box()
        button = message.get_by_role("button", name="Message options").bounding_box()
        # On the bubble's line, not wrapped below it.
        assert button["y"] < bubble["y"] + bubble["height"]
        assert button["x"] + button["width"] <= PHONE["width"]
