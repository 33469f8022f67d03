"""Replies, reactions, edits, forwards and mentions in the browser (docs/api.md section 9): each
one done through the page the way a person does it, and seen live on the other side."""

import re

import pytest
from playwright.sync_api import Page, expect

from chat.actions.recall import check_recall
from chat.actions.send import check_send_message
from conversations.actions.direct import direct_id
from groups.actions.manage import check_create_group
from tests.browser.test_features import people  # noqa: F401 (fixture)
from tests.browser.ui import (
    chatting,
    conversation_item,
    in_thread,
    login,
    message_with_text,
    open_conversation,
    send_text,
)
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def choose(page: Page, text: str, action: str) -> None:
    """Opens a message's "Message options" menu and picks `action`."""
    message = message_with_text(page, text)
    message.get_by_role("button", name="Message options").click()
    page.get_by_role("menuitem", name=action).click()


def test_reply_quotes_the_original_which_a_click_brings_back_even_from_older_history(open_page, people, settings):  # noqa: F811
    settings.IM_SEND_RATE = 10_000  # 56 sends at once: more than the bucket of 40, on a fast machine
    ann_user, ben_user = people("ann", "ben")
    conv = direct_id(ann_user.id, ben_user.id)

    def seed():
        first = check_send_message(ben_user.id, conv, "text", {"text": "where do we meet?"}).message
        for n in range(55):  # more than the latest page, so the original is in older history
            check_send_message(ben_user.id, conv, "text", {"text": f"filler {n}"})
        return first

    original = in_thread(seed)  # one thread: one database connection, not one per message
    ann, ben = chatting(open_page)
    expect(message_with_text(ann, "filler 54")).to_be_attached()
    ann.locator(".messages-scroll").evaluate("el => { el.scrollTop = 0; }")  # scrolling back loads older history
    choose(ann, "where do we meet?", "Reply")
    expect(ann.locator(".composer-context")).to_contain_text("Replying to Ben: where do we meet?")
    send_text(ann, "at the station")

    for page in (ann, ben):
        reply = message_with_text(page, "at the station")
        expect(reply.locator(".msg-quote")).to_contain_text("where do we meet?")
    expect(ann.locator(".composer-context")).to_be_hidden()

    # On another load only the latest page is held: the quote fetches older history to show it.
    ann.reload()
    open_conversation(ann, "Ben")
    expect(message_with_text(ann, "where do we meet?")).to_have_count(0)
    message_with_text(ann, "at the station").locator(".msg-quote").click()
    target = ann.locator(f"li.msg[data-msg-id='{original.msg_id}']")
    expect(target).to_be_visible()
    expect(target).to_have_attribute("data-highlighted", "true")
    expect(target).to_be_in_viewport()

    # Recalled later: the quote says so, live.
    in_thread(check_recall, ben_user.id, conv, original.msg_id)
    expect(message_with_text(ann, "at the station").locator(".msg-quote")).to_contain_text("Message recalled")
    expect(message_with_text(ann, "at the station").locator(".msg-quote")).not_to_contain_text("where do we meet?")
    assert ann.recorder.errors == [] and ben.recorder.errors == []


def test_reactions_by_keyboard_with_counts_own_highlight_and_names(open_page, people):  # noqa: F811
    people("ann", "ben")
    ann, ben = chatting(open_page)
    send_text(ben, "lunch at noon?")
    expect(message_with_text(ann, "lunch at noon?")).to_be_visible()

    # Keyboard only: focus React, Enter opens the picker on its first emoji, → moves, Enter picks.
    react = message_with_text(ann, "lunch at noon?").get_by_role("button", name="React")
    react.focus()
    ann.keyboard.press("Enter")
    expect(ann.get_by_role("menuitem", name="👍")).to_be_focused()
    ann.keyboard.press("ArrowRight")
    expect(ann.get_by_role("menuitem", name="❤️")).to_be_focused()
    ann.keyboard.press("Enter")

    mine = message_with_text(ann, "lunch at noon?").locator(".reaction-chip")
    theirs = message_with_text(ben, "lunch at noon?").locator(".reaction-chip")
    expect(mine).to_have_count(1)
    expect(mine).to_have_text("❤️1")
    expect(mine).to_have_attribute("aria-pressed", "true")
    expect(theirs).to_have_text("❤️1")
    expect(theirs).to_have_attribute("aria-pressed", "false")
    # Who reacted: in the accessible name, and shown on focus (and hover).
    expect(theirs).to_have_accessible_name("❤️ 1: Ann")
    theirs.focus()
    ben.keyboard.press("Shift+Tab")
    ben.keyboard.press("Tab")
    shown = theirs.evaluate("el => getComputedStyle(el, '::after').content")
    assert shown == '"Ann"', shown

    # Ben adds his: two; Ann takes hers back: one, Ben's.
    theirs.click()
    expect(mine).to_have_text("❤️2")
    expect(mine).to_have_accessible_name("❤️ 2: You, Ben")
    mine.click()
    expect(theirs).to_have_text("❤️1")
    expect(theirs).to_have_attribute("aria-pressed", "true")
    expect(mine).to_have_attribute("aria-pressed", "false")
    expect(theirs).to_have_accessible_name("❤️ 1: You")
    assert ann.recorder.errors == [] and ben.recorder.errors == []


def test_edit_from_the_menu_shows_the_new_text_marked_edited(open_page, people):  # noqa: F811
    people("ann", "ben")
    ann, ben = chatting(open_page)
    send_text(ann, "see you tomorow")
    expect(message_with_text(ben, "see you tomorow")).to_be_visible()
    expect(message_with_text(ann, "see you tomorow")).to_have_attribute("data-status", "read")

    choose(ann, "see you tomorow", "Edit")
    box = ann.get_by_role("textbox", name="Message")
    expect(box).to_have_value("see you tomorow")
    expect(ann.locator(".composer-context")).to_contain_text("Editing message")
    # Escape gives up; the text is untouched.
    box.press("Escape")
    expect(box).to_have_value("")
    choose(ann, "see you tomorow", "Edit")
    box.fill("see you tomorrow")
    box.press("Enter")

    for page in (ann, ben):
        edited = message_with_text(page, "see you tomorrow")
        expect(edited).to_be_visible()
        expect(edited.locator(".msg-edited")).to_have_text("edited")
        expect(page.get_by_text("see you tomorow")).to_have_count(0)
    # ArrowUp in the empty composer edits one's newest message, as in other messengers.
    box.press("ArrowUp")
    expect(box).to_have_value("see you tomorrow")
    box.press("Escape")
    expect(box).to_have_value("")
    # Only the sender may edit: Ben's menu offers no Edit for it.
    message_with_text(ben, "see you tomorrow").get_by_role("button", name="Message options").click()
    expect(ben.get_by_role("menuitem", name="Edit")).to_have_count(0)
    # History shows the new text after a reload too.
    ben.reload()
    open_conversation(ben, "Ann")
    expect(message_with_text(ben, "see you tomorrow").locator(".msg-edited")).to_be_visible()
    assert ann.recorder.errors == [] and ben.recorder.errors == []


def test_forward_through_the_conversation_picker(open_page, people):  # noqa: F811
    people("ann", "ben", "cat")
    ann, cat = open_page(), open_page()
    login(ann, "ann_f")
    login(cat, "cat_f")
    open_conversation(ann, "Ben")
    send_text(ann, "the trail map is at https://example.com/map")
    expect(message_with_text(ann, "the trail map")).to_have_attribute("data-status", "sent")

    choose(ann, "the trail map", "Forward")
    dialog = ann.get_by_role("dialog", name="Forward message")
    dialog.get_by_role("searchbox").fill("ca")
    expect(dialog.get_by_role("button")).to_have_count(2)  # Cat and the dialog's Close
    dialog.get_by_role("button", name="Cat").click()
    expect(dialog).to_be_hidden()

    expect(conversation_item(cat, "Ann")).to_contain_text("the trail map")
    open_conversation(cat, "Ann")
    forwarded = message_with_text(cat, "the trail map")
    expect(forwarded.locator(".msg-forwarded")).to_have_text("Forwarded")
    expect(forwarded.get_by_role("link", name="https://example.com/map")).to_be_visible()
    open_conversation(ann, "Cat")
    expect(message_with_text(ann, "the trail map").locator(".msg-forwarded")).to_be_visible()
    assert ann.recorder.errors == [] and cat.recorder.errors == []


def test_mention_autocomplete_highlight_and_badge(open_page, people, make_friends):  # noqa: F811
    ann_user, ben_user, cat_user = people("ann", "ben", "cat")
    in_thread(make_friends, ben_user, cat_user)
    in_thread(check_create_group, ann_user, "Trio", [ben_user.id, cat_user.id])
    ann, ben, cat = open_page(), open_page(), open_page()
    for page, username in ((ann, "ann_f"), (ben, "ben_f"), (cat, "cat_f")):
        login(page, username)
    open_conversation(ann, "Trio")
    open_conversation(ben, "Trio")
    ann.wait_for_function("() => window.imChat.store.groups.size === 1")  # its members are known

    box = ann.get_by_role("textbox", name="Message")
    box.press_sequentially("hey @")
    options = ann.get_by_role("listbox", name="Mention someone").get_by_role("option")
    expect(options).to_have_count(2)  # the other members, not Ann herself
    box.press_sequentially("c")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Cat")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")  # picks; does not send
    expect(box).to_have_value("hey @Cat ")
    box.press_sequentially("look at this")
    box.press("Enter")
    expect(box).to_have_value("")

    # Cat, elsewhere: an @ badge on the group; inside, the mention is highlighted for her.
    expect(conversation_item(cat, "Trio").get_by_role("img", name="1 unread mention")).to_be_visible()
    open_conversation(cat, "Trio")
    text = message_with_text(cat, "look at this")
    expect(text.locator(".mention-me")).to_have_text("@Cat")
    expect(conversation_item(cat, "Trio").locator(".mention-badge")).to_have_count(0)
    # Ben sees the name as a mention, not highlighted as his own.
    ben_text = message_with_text(ben, "look at this")
    expect(ben_text.locator(".mention")).to_have_text("@Cat")
    expect(ben_text.locator(".mention-me")).to_have_count(0)
    assert re.fullmatch(r"hey @Cat look at this", text.locator(".msg-text").inner_text())
