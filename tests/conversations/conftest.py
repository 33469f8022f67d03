"""Fixtures of the conversation, attachment and search tests: direct conversations between
friends (on a chosen message shard) and sending as a user."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from chat.actions.send import check_send_message
from chat.models import Message
from conversations.actions.direct import check_open_direct
from conversations.models import Conversation

_names = itertools.count()


@pytest.fixture
def direct(make_user, make_friends) -> Callable[..., str]:
    """`direct(a, b)` befriends two users and opens their conversation; `direct(a, shard=1)`
    makes a new friend of `a` whose conversation with `a` lives on that shard."""

    def open_direct(a: User, b: User | None = None, *, shard: int | None = None) -> str:
        for _ in range(64):
            peer = b or make_user(f"peer{next(_names)}")
            make_friends(a, peer)
            membership, _ = check_open_direct(a, peer.id)
            if shard is None or membership.conversation.shard == shard:
                return membership.conversation_id
            assert b is None, "a given pair cannot be moved to another shard"
            Conversation.objects.filter(id=membership.conversation_id).delete()  # keep only wanted ones
        raise AssertionError("no conversation landed on the wanted shard")

    return open_direct


@pytest.fixture
def send(settings) -> Callable[..., Message]:
    """`send(user, conversation_id, "text")`, or with msg_type and content."""
    settings.IM_SEND_RATE = 10_000  # tests send in bursts

    def send_message(user: User, conversation_id: str, text: str | None = None, *, msg_type: str = "text",
                     content: dict[str, Any] | None = None) -> Message:
        return check_send_message(user.id, conversation_id, msg_type, content or {"text": text}).message

    return send_message
