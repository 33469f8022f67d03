"""Messages on the wire (docs/api.md sections 3 and 9)."""

from typing import Any

from chat.models import Message
from imsite.timefmt import iso

PREVIEW_CHARS = 100


def message_dict(message: Message, *, status: str | None = None,
                 reactions: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """`reactions`: the message's, when the caller loaded them (`chat.actions.reactions`); a
    message just stored has none."""
    recalled = message.recalled
    data: dict[str, Any] = {
        "msg_id": str(message.msg_id),
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "type": message.type,
        "content": {} if recalled else message.content,
        "created_at": iso(message.created_at),
        "recalled": recalled,
        "reply_to": None if recalled else message.reply_to,
        "reactions": {} if recalled else (reactions or {}),
        "edited_at": iso(message.edited_at) if message.edited_at else None,
        "forwarded": message.forwarded,
    }
    if status is not None:
        data["status"] = status
    return data


def reply_summary(original: Message) -> dict[str, Any]:
    """What a reply shows of its original; recalled: no preview."""
    text = original.content.get("text", "") if original.type == Message.Type.TEXT and not original.recalled else ""
    return {"msg_id": str(original.msg_id), "seq": original.seq, "sender_id": original.sender_id,
            "type": original.type, "preview": text[:PREVIEW_CHARS], "recalled": original.recalled}
