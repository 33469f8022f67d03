"""The socket is cut from the server side and comes back: nothing sent meanwhile is lost,
shown twice or out of order, and a message typed while offline goes out once."""

import pytest
from playwright.sync_api import expect

from chat.actions.send import check_send_message
from chat.models import Message
from conversations.actions.direct import direct_id
from conversations.models import Conversation
from imsite.events import send_control, user_group
from imsite.shards import shard_alias
from tests.browser.test_features import people  # noqa: F401 (fixture)
from tests.browser.ui import in_thread, login, message_with_text, messages, open_conversation, send_text, texts
from tests.conftest import ALL_DBS

pytestmark = [ALL_DBS, pytest.mark.browser]

RECONNECT_TIMEOUT = 45_000  # backoff with jitter after a restart that itself takes seconds


def record_connection_states(page) -> None:
    page.evaluate("""() => { window.__states = [];
        window.imChat.on('connection', ({ state }) => window.__states.push(state)); }""")


def states(page) -> list[str]:
    return page.evaluate("() => window.__states")


def stored_texts(conversation_id: str) -> list[str]:
    conversation = Conversation.objects.get(id=conversation_id)
    rows = Message.objects.using(shard_alias(conversation.shard)).filter(conversation_id=conversation_id)
    return [row.content["text"] for row in rows.order_by("seq")]


def test_messages_sent_while_the_socket_is_down_appear_once_in_order(open_page, people, cluster):  # noqa: F811
    ann_user, ben_user = people("ann", "ben")
    cid = direct_id(ann_user.id, ben_user.id)

    def ben_says(text: str) -> None:
        in_thread(check_send_message, ben_user.id, cid, "text", {"text": text})

    ann = open_page()
    login(ann, "ann_f")
    open_conversation(ann, "Ben")
    ben_says("before")
    expect(message_with_text(ann, "before")).to_be_visible()
    record_connection_states(ann)

    # 1. The server closes Ann's socket (a control message to her channel-layer group) while Ben
    #    keeps writing: whatever arrives live or through the reconnect's pull shows once.
    in_thread(send_control, user_group(ann_user.id), {"type": "im.close", "code": 4000})
    for n in range(1, 4):
        ben_says(f"during the close {n}")
    expect(ann.locator("#connection-status")).to_have_attribute("data-state", "ready", timeout=RECONNECT_TIMEOUT)
    expect(message_with_text(ann, "during the close 3")).to_be_visible()
    assert "down" in states(ann)

    # 2. The server process dies: Ben's messages are stored meanwhile; Ann writes one offline.
    cluster.kill("web")
    expect(ann.locator("#connection-status")).to_have_attribute("data-state", "down")
    for n in range(1, 4):
        ben_says(f"while the server was down {n}")
    send_text(ann, "typed while offline")
    expect(message_with_text(ann, "typed while offline")).to_have_attribute("data-status", "pending")
    cluster.restart("web")
    expect(ann.locator("#connection-status")).to_have_attribute("data-state", "ready", timeout=RECONNECT_TIMEOUT)

    expected = (["before"] + [f"during the close {n}" for n in range(1, 4)]
                + [f"while the server was down {n}" for n in range(1, 4)] + ["typed while offline"])
    expect(message_with_text(ann, "typed while offline")).to_have_attribute("data-status", "sent",
                                                                             timeout=RECONNECT_TIMEOUT)
    expect(messages(ann)).to_have_count(len(expected))
    assert texts(ann) == expected
    seqs = messages(ann).evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == list(range(1, len(expected) + 1))
    ids = messages(ann).evaluate_all("els => els.map(e => e.dataset.msgId)")
    assert len(set(ids)) == len(ids)
    # The offline message was stored once, after Ben's (retried with the same msg_id).
    assert in_thread(stored_texts, cid) == expected
    assert ann.recorder.errors == []
