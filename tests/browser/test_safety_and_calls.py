"""Markup in anything a user types is shown as text and runs nothing; a video call between two
browsers with Chromium's fake camera and microphone connects, and its record lands in the chat."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from chat.models import Call
from conversations.actions.direct import check_open_direct
from tests.browser.test_features import people  # noqa: F401 (fixture)
from tests.browser.ui import (
    conversation_item,
    in_thread,
    login,
    message_with_text,
    messages,
    open_conversation,
    register,
    send_text,
)
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]

# Each payload would call alert() (a page dialog) or set window.__xss if it ever ran.
NAME_XSS = '<img src=x1 onerror="alert(1)">Eve'
MESSAGE_XSS = '<script>window.__xss=1</script><img src=x2 onerror="alert(2);window.__xss=2">'
GROUP_XSS = '<b>Trio</b><img src=x3 onerror="alert(3)">'
INJECTED = "img[src^=x], b, script:not([src]):not([type])"


def nothing_ran(page) -> None:
    assert page.recorder.dialogs == []
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#app").locator(INJECTED).count() == 0
    assert page.get_by_role("dialog").filter(has_text="onerror").count() == 0


def test_markup_in_names_messages_and_group_names_is_only_text(open_page, make_user, make_friends):
    eve, ann = open_page(), open_page()
    register(eve, "eve_x", NAME_XSS)
    ann_user = in_thread(make_user, "ann_x", "Ann")

    def befriend() -> None:
        eve_user = User.objects.get(username="eve_x")
        make_friends(ann_user, eve_user)
        check_open_direct(ann_user, eve_user.id)

    in_thread(befriend)
    login(ann, "ann_x")
    expect(conversation_item(ann, NAME_XSS)).to_be_visible()  # the name, character for character
    open_conversation(ann, NAME_XSS)
    eve.reload()
    open_conversation(eve, "Ann")
    send_text(eve, MESSAGE_XSS)
    expect(message_with_text(ann, MESSAGE_XSS)).to_be_visible()

    ann.get_by_role("button", name="New group").first.click()
    dialog = ann.get_by_role("dialog", name="New group")
    dialog.get_by_label("Group name").fill(GROUP_XSS)
    dialog.get_by_label(NAME_XSS).check()
    dialog.get_by_role("button", name="Create group").click()
    expect(ann.locator("#conversation-title")).to_have_text(GROUP_XSS)
    send_text(ann, "in the group")
    expect(conversation_item(eve, GROUP_XSS)).to_be_visible()
    open_conversation(eve, GROUP_XSS)
    expect(message_with_text(eve, "in the group")).to_be_visible()
    # The members panel and the system line ("<name> created the group") show the names as text.
    eve.get_by_role("button", name="Group info").click()
    expect(eve.get_by_role("list", name="Members")).to_contain_text(NAME_XSS)
    for page in (ann, eve):
        nothing_ran(page)
        assert page.recorder.errors == []


def test_video_call_connects_and_is_recorded(open_page, people):  # noqa: F811
    people("ann", "ben")
    ann, ben = open_page(), open_page()
    login(ann, "ann_f")
    login(ben, "ben_f")
    open_conversation(ann, "Ben")

    ann.get_by_role("button", name="Video call").click()
    incoming = ben.get_by_role("dialog", name="Incoming call")
    expect(incoming).to_contain_text("Ann is calling you.")
    expect(ann.locator(".call-status")).to_have_attribute("data-call-state", "ringing")
    incoming.get_by_role("button", name="Accept").click()
    for page in (ann, ben):
        expect(page.locator(".call-status")).to_have_attribute("data-call-state", "connected", timeout=30_000)
    # Media really flows: the fake camera's frames reach the other side's video element.
    expect(ben.locator("video.remote-video")).to_have_js_property("readyState", 4, timeout=30_000)
    assert ben.locator("video.remote-video").evaluate("v => v.videoWidth") > 0

    ann.get_by_role("button", name="Hang up").click()
    expect(ben.locator(".call-status")).to_have_attribute("data-call-state", "ended")
    open_conversation(ben, "Ann")
    for page in (ann, ben):
        record = messages(page).filter(has=page.locator(".msg-system-text", has_text="Video call ·"))
        expect(record).to_have_count(1)
    call = in_thread(lambda: Call.objects.get())
    assert call.state == Call.State.ENDED and call.accepted_at is not None
    assert ann.recorder.errors == [] and ben.recorder.errors == []
