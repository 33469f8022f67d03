"""Groups on the wire (docs/api.md section 4)."""

from typing import Any

from accounts.representations import avatar_url, user_dict
from conversations.models import Membership
from groups.models import Group
from imsite.timefmt import iso

ROLE_ORDER = {"owner": 0, "admin": 1, "member": 2}


def member_dict(membership: Membership) -> dict[str, Any]:
    return {"user": user_dict(membership.user), "role": membership.role}


def group_dict(group: Group) -> dict[str, Any]:
    """The group with its current members: owner first, then admins, then members, by join."""
    members = sorted(Membership.objects.filter(conversation_id=group.conversation_id, active=True)
                     .select_related("user"), key=lambda m: (ROLE_ORDER.get(m.role, 3), m.id))
    return {
        "id": group.id,
        "conversation_id": group.conversation_id,
        "name": group.name,
        "owner_id": group.owner_id,
        "announcement": group.announcement,
        "avatar_url": avatar_url(group.avatar_id),
        "dissolved": group.dissolved,
        "member_count": len(members),
        "created_at": iso(group.created_at),
        "members": [member_dict(m) for m in members],
    }
