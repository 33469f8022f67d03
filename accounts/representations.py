"""How users and friend requests look on the wire (docs/api.md sections 0 and 2)."""

from typing import Any

from accounts.models import FriendRequest, User
from imsite.timefmt import iso


def avatar_url(attachment_id: int | None) -> str | None:
    return f"/api/v1/attachments/{attachment_id}/file" if attachment_id else None


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name or user.username,
        "avatar_url": avatar_url(user.avatar_id),
    }


def me_dict(user: User) -> dict[str, Any]:
    """/api/v1/me: the user object and the user's own settings."""
    return {**user_dict(user), "language": user.language, "email": user.email}


def friend_request_dict(request: FriendRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "from_user": user_dict(request.from_user),
        "to_user": user_dict(request.to_user),
        "message": request.message,
        "status": request.status,
        "created_at": iso(request.created_at),
    }
