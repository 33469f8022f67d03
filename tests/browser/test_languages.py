"""In Chinese through the page (docs/api.md section 12): a user switches the language in
Settings, and the accessible names of section 6 are the Chinese ones while she befriends someone
who stays in English, and they chat."""

import pytest
from playwright.sync_api import expect

from tests.browser.ui import message_with_text, register, wait_online
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]


def test_switch_to_chinese_and_chat(open_page):
    ann, ben = open_page(), open_page()
    register(ann, "ann_zh", "Ann Archer")
    register(ben, "ben_zh", "Ben Baker")

    # Ann chooses Chinese in Settings; the page reloads in it.
    ann.get_by_role("button", name="Settings").click()
    dialog = ann.get_by_role("dialog", name="Settings")
    dialog.get_by_role("combobox", name="Language").select_option("zh-hans")
    dialog.get_by_role("button", name="Change language").click()
    expect(ann.locator("html")).to_have_attribute("lang", "zh-hans")
    wait_online(ann)
    expect(ann.locator("#connection-status")).to_have_text("在线")

    # She finds Ben and asks, in Chinese; Ben answers in English.
    ann.get_by_role("button", name="联系人").click()
    ann.get_by_label("查找用户").fill("ben_zh")
    found = ann.get_by_role("list", name="找到的用户").get_by_role("listitem").filter(has_text="Ben Baker")
    found.get_by_role("button", name="添加好友").click()
    expect(found.get_by_text("请求已发送")).to_be_visible()
    ben.get_by_role("button", name="Contacts").click()
    request = ben.get_by_role("list", name="Incoming requests").get_by_role("listitem").filter(has_text="Ann Archer")
    request.get_by_role("button", name="Accept").click()
    ben.get_by_role("list", name="Friends").get_by_role("listitem").filter(has_text="Ann Archer") \
        .get_by_role("button", name="Message").click()
    ben.get_by_role("textbox", name="Message").fill("Hello Ann")
    ben.get_by_role("button", name="Send").click()
    expect(message_with_text(ben, "Hello Ann")).to_have_attribute("data-status", "delivered")  # Ann's page has it

    # Ann's list and conversation speak Chinese: the unread badge, the composer, the status.
    ann.get_by_role("button", name="聊天", exact=True).click()
    item = ann.get_by_role("list", name="会话").locator(".conversation-item").filter(has_text="Ben Baker")
    expect(item.get_by_role("img", name="1 条未读")).to_be_visible()
    item.locator(".conversation-open").click()
    expect(message_with_text(ann, "Hello Ann")).to_be_visible()
    ann.get_by_role("textbox", name="消息").fill("你好，Ben")
    ann.get_by_role("button", name="发送").click()
    mine = message_with_text(ann, "你好，Ben")
    expect(mine).to_have_attribute("data-status", "read")
    expect(message_with_text(ben, "你好，Ben")).to_be_visible()
    # Ben's page stays English.
    expect(ben.locator("html")).to_have_attribute("lang", "en")
    expect(ben.get_by_role("button", name="Send")).to_be_visible()
