"""Messages on the wire (docs/api.md section 3)."""

from typing import Any

from chat.models import Message
from imsite.timefmt import iso


def message_dict(message: Message, *, status: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "msg_id": str(message.msg_id),
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "type": message.type,
        "content": {} if message.recalled else message.content,
        "created_at": iso(message.created_at),
        "recalled": message.recalled,
    }
    if status is not None:
        data["status"] = status
    return data


def direct_status(seq: int, peer_read_seq: int, peer_delivered_seq: int, peer_delivered_extra: list[int]) -> str:
    """The sender's view of one direct message, from the peer's cursors (never goes back)."""
    if seq <= peer_read_seq:
        return "read"
    if seq <= peer_delivered_seq or seq in peer_delivered_extra:
        return "delivered"
    return "sent"
