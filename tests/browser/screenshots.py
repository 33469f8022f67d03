"""Screenshots of the main screen for the README, at desktop (1280×800) and phone (390×844) size.
Not part of the suite (the name does not match test_*.py); run it on purpose:

    python -m pytest tests/browser/screenshots.py

It sets up a lived-in account (friends, a group with a mention, text with a link, a reply,
reactions, an image and a location) through the same fixtures as the browser tests and writes
docs/screenshots/*.png."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat.actions.reactions import check_react
from chat.actions.send import check_send_message
from conversations.actions.direct import direct_id
from groups.models import Group
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_features import people, png_bytes  # noqa: F401 (fixture)
from tests.browser.ui import (
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
OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"


def test_main_screen_screenshots(open_page, people, make_friends):  # noqa: F811
    ann_user, ben_user, cat_user, dan_user = people("ann", "ben", "cat", "dan")
    in_thread(make_friends, ben_user, cat_user)

    def say(user, other, text: str, **extra):
        return in_thread(check_send_message, user.id, direct_id(user.id, other.id), "text", {"text": text},
                         **extra).message

    say(dan_user, ann_user, "Are we still on for Friday?")
    say(cat_user, ann_user, "Sent you the slides 📎")
    say(cat_user, ann_user, "Let me know what you think!")
    ann = open_page(DESKTOP)
    login(ann, "ann_f")
    # The New group dialog lists the friends known when it opens: let the first load finish.
    ann.wait_for_function("() => window.imChat.store.friends.size === 3")
    ann.get_by_role("button", name="New group").first.click()
    dialog = ann.get_by_role("dialog", name="New group")
    dialog.get_by_label("Group name").fill("Weekend hike")
    dialog.get_by_label("Ben").check()
    dialog.get_by_label("Cat").check()
    dialog.get_by_role("button", name="Create group").click()
    send_text(ann, "Saturday 9:00 at the trailhead?")
    group_cid = in_thread(lambda: Group.objects.get(name="Weekend hike").conversation_id)

    open_conversation(ann, "Ben")
    in_thread(check_send_message, ben_user.id, group_cid, "text", {"text": "I'm in!"})
    in_thread(check_send_message, ben_user.id, group_cid, "text", {"text": "Bringing snacks"})
    in_thread(check_send_message, cat_user.id, group_cid, "text",
              {"text": f"@{ann_user.display_name} can you share the route?", "mentions": [ann_user.id]})
    say(ben_user, ann_user, "Hey Ann! How was the trip?")
    send_text(ann, "Amazing — the view from the top was unreal.")
    ann.locator("input[type=file][accept^='image/']").set_input_files(
        {"name": "view.png", "mimeType": "image/png", "buffer": png_bytes()})
    expect(messages(ann).locator("img.msg-image")).to_have_count(1)
    ann.get_by_role("button", name="Share location").click()
    ann.get_by_label("Latitude").fill("46.5580")
    ann.get_by_label("Longitude").fill("7.8353")
    ann.get_by_label("Place name (optional)").fill("Schilthorn")
    ann.get_by_role("button", name="Send location").click()
    expect(messages(ann).locator(".msg-location")).to_have_count(1)
    amazing = message_with_text(ann, "Amazing").get_attribute("data-msg-id")
    photo = messages(ann).filter(has=ann.locator("img.msg-image")).get_attribute("data-msg-id")
    conv = direct_id(ann_user.id, ben_user.id)
    say(ben_user, ann_user, "Wow, jealous! Send more pictures 😄", reply_to=amazing)
    in_thread(check_react, ben_user.id, conv, photo, "❤️", True)
    in_thread(check_react, ben_user.id, conv, photo, "😮", True)
    send_text(ann, "The whole album: https://example.com/albums/alps")
    in_thread(check_react, ben_user.id, conv, message_with_text(ann, "The whole album").get_attribute("data-msg-id"),
              "❤️", True)
    expect(messages(ann)).to_have_count(6)
    expect(messages(ann).locator(".reaction-chip")).to_have_count(3)
    expect(ann.locator("li.msg[data-status=pending], li.msg[data-status=failed]")).to_have_count(0)
    expect(conversation_item(ann, "Cat").get_by_role("img", name="2 unread")).to_be_visible()
    expect(conversation_item(ann, "Weekend hike").get_by_role("img", name="1 unread mention")).to_be_visible()

    OUT.mkdir(parents=True, exist_ok=True)
    ann.screenshot(path=OUT / "main-desktop.png")
    ann.set_viewport_size(PHONE)
    ann.screenshot(path=OUT / "main-phone.png")
    ann.get_by_role("button", name="Back to conversations").click()
    expect(conversation_item(ann, "Cat")).to_be_visible()
    ann.screenshot(path=OUT / "list-phone.png")
    ann.set_viewport_size(DESKTOP)
    open_conversation(ann, "Weekend hike")
    expect(messages(ann).locator(".mention-me")).to_have_count(1)
    ann.screenshot(path=OUT / "group-desktop.png")
    for name in ("main-desktop.png", "main-phone.png", "list-phone.png", "group-desktop.png"):
        assert (OUT / name).stat().st_size > 10_000
