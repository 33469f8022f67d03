"""Fixtures of the call tests: two friends with their direct conversation, and a helper that
reads the stored call records."""

import uuid
from dataclasses import dataclass

import pytest
from channels.db import database_sync_to_async as db

from accounts.models import User
from chat.models import Message
from conversations.actions.direct import check_open_direct
from conversations.models import Conversation
from imsite.shards import shard_alias


@dataclass
class Pair:
    alice: User
    bob: User
    cid: str


@pytest.fixture
async def pair(make_user, make_friends) -> Pair:
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    membership, _ = await db(check_open_direct)(alice, bob.id)
    return Pair(alice, bob, membership.conversation_id)


def call_records(conversation_id: str) -> list[dict]:
    """The `call` system messages stored in a conversation, oldest first."""
    conversation = Conversation.objects.get(id=conversation_id)
    rows = Message.objects.using(shard_alias(conversation.shard)).filter(
        conversation_id=conversation_id, type=Message.Type.SYSTEM).order_by("seq")
    return [row.content for row in rows if row.content.get("event") == "call"]


def frame(pair: Pair, action: str, call_id: str, **extra) -> dict:
    return {"type": "call", "action": action, "call_id": call_id, "conversation_id": pair.cid, **extra}


def new_call_id() -> str:
    return str(uuid.uuid4())
