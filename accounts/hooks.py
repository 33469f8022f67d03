"""What accounts needs from chat, the layer that owns it, without importing chat: chat supplies
both in ChatConfig.ready (imsite/hooks.py)."""

from typing import Any

from django.db.models import Model

from imsite.hooks import Hook


@Hook
def notify(frame: dict[str, Any], user_ids: list[int]) -> None:
    """Pushes `frame` to the users' connected devices and queues it in chat's outbox for those
    offline (a friend request's frames must reach them on their next connect)."""


@Hook
def check_avatar_image(user_id: int, raw_id: Any, *, field: str) -> Model | None:
    """The `chat.Attachment` (User.avatar's model) for an avatar id the user sent, made an avatar;
    None clears the avatar; `invalid` on `field` when it is not an image the user uploaded."""
