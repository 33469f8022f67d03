"""Every group change is told twice (docs/api.md sections 3-5): a `system` message stored in the group
conversation (history, offline push, unread counts) and a `group` frame to the members concerned.

Call inside the change's transaction, after the membership rows are written: the message is pushed
to the conversation's active members as they are then, and both pushes go out on commit.
"""

from typing import Any

from chat.actions.send import do_send_system_message
from chat.models import Message
from groups.models import Group
from imsite.events import send_event

# System message event -> `group` frame event (section 5 lists the frame events; a member leaving
# is a `member_removed` frame whose `user_id` is its `actor_id`).
FRAME_EVENT = {
    "group_created": "created",
    "member_added": "member_added",
    "member_removed": "member_removed",
    "member_left": "member_removed",
    "role_changed": "role_changed",
    "group_updated": "updated",
    "group_dissolved": "dissolved",
}


def group_frame(group: Group, event: str, actor_id: int | None, seq: int, **fields: Any) -> dict[str, Any]:
    return {"type": "group", "group_id": group.id, "conversation_id": group.conversation_id, "event": event,
            "actor_id": actor_id, "seq": seq, **fields}


def announce(group: Group, actor_id: int | None, event: str, recipients: list[int], **fields: Any) -> Message:
    """Store the system message `event` with `fields`, and send the matching `group` frame (same
    fields) to `recipients`."""
    message = do_send_system_message(group.conversation, actor_id, {"event": event, "actor_id": actor_id, **fields})
    send_event(group_frame(group, FRAME_EVENT[event], actor_id, message.seq, **fields), recipients)
    return message
