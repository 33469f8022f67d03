"""Message shards: which database holds a conversation's messages.

A conversation's shard is chosen once, when the conversation is created (crc32 of its id over the
shards configured then), and stored on the conversation row (`Conversation.shard`): a directory,
not a formula, so shards can be added later without moving old conversations (docs/sharding.md).
"""

import zlib

from django.conf import settings

# Models whose tables live on the message shards (or on the main database when there are none).
SHARDED_MODELS = {("chat", "message"), ("chat", "conversationcounter"), ("chat", "reaction"),
                  ("chat", "messageedit")}


def shard_aliases() -> list[str]:
    return list(settings.MESSAGE_SHARDS) or ["default"]


def pick_shard(conversation_id: str) -> int:
    """The shard index for a new conversation."""
    return zlib.crc32(conversation_id.encode()) % len(shard_aliases())


def shard_alias(shard: int) -> str:
    """The database of shard index `shard`. Shards are only ever appended to IM_MESSAGE_SHARDS;
    an index this process does not know means its configuration is stale: fail loudly rather
    than read or write the wrong database."""
    if not settings.MESSAGE_SHARDS:
        return "default"
    if not 0 <= shard < len(settings.MESSAGE_SHARDS):
        raise RuntimeError(f"message shard {shard} is not configured here (IM_MESSAGE_SHARDS is stale)")
    return settings.MESSAGE_SHARDS[shard]


class ShardRouter:
    """Keeps sharded tables on the shard databases and everything else on `default`.

    Reads and writes of sharded models always name their database explicitly
    (`.using(shard_alias(...))`), so only migrations need routing here.
    """

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool | None:
        if model_name is None:
            # RunPython/RunSQL without a model: the operation decides (hints name the model).
            model_name = hints.get("model_name")
            if model_name is None:
                return db == "default" if settings.MESSAGE_SHARDS else None
        sharded = (app_label, model_name) in SHARDED_MODELS
        if not settings.MESSAGE_SHARDS:
            return db == "default"
        return db in settings.MESSAGE_SHARDS if sharded else db == "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        return True
