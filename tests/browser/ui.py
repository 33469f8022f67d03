"""Driving the chat page the way a person (or a screen reader) does: through the accessible
names of docs/api.md section 6 and the data attributes the page exposes."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD

T = TypeVar("T")


def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM work off the main thread, where Playwright's loop makes Django refuse it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


class Recorder:
    """What a page did that it never should: open a dialog (alert/confirm/prompt), throw."""

    def __init__(self, page: Page):
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def register(page: Page, username: str, display_name: str) -> None:
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    wait_online(page)


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_online(page)


def wait_online(page: Page) -> None:
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "ready")


def conversation_list(page: Page) -> Locator:
    return page.get_by_role("list", name="Conversations")


def conversation_item(page: Page, name: str) -> Locator:
    return conversation_list(page).locator(".conversation-item").filter(
        has=page.locator(".conversation-name", has_text=name))


def open_conversation(page: Page, name: str) -> None:
    conversation_item(page, name).locator(".conversation-open").click()
    expect(page.locator("#conversation-title")).to_have_text(name)


def chatting(open_page: Callable[..., Page]) -> tuple[Page, Page]:
    """Ann and Ben (users made by `people("ann", "ben")`) signed in, each in their conversation."""
    ann, ben = open_page(), open_page()
    login(ann, "ann_f")
    login(ben, "ben_f")
    open_conversation(ann, "Ben")
    open_conversation(ben, "Ann")
    return ann, ben


def send_text(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def messages(page: Page) -> Locator:
    """The message elements of the open conversation (day dividers left out)."""
    return page.locator("ol.messages > li.msg")


def message_with_text(page: Page, text: str) -> Locator:
    return messages(page).filter(has=page.locator(".msg-text", has_text=text))


def texts(page: Page) -> list[str]:
    return messages(page).locator(".msg-text").all_inner_texts()


def wait_for(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll a Python-side check with a deadline (for state outside the page)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
