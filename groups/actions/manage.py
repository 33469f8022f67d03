"""Creating a group, its settings, roles, ownership and dissolution (docs/api.md section 4).

Permission rules live here and in groups/actions/members.py only; views and the Django admin call
these. `check_*` functions take the caller and enforce the rules; `do_*` functions perform a change
for an already-authorized actor (the admin site uses them with the staff user as actor).
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Block, User
from accounts.representations import avatar_url
from chat.actions.attachments import check_avatar_image
from chat.actions.send import do_send_system_message
from conversations.actions.access import member_ids
from conversations.models import Conversation, Membership
from groups.actions.access import (
    access_group,
    access_member,
    check_not_dissolved,
    parse_path_id,
    parse_user_id,
    parse_user_ids,
    require_role,
)
from groups.actions.announce import announce, group_frame
from groups.models import Group
from imsite.errors import ImError, invalid, not_found
from imsite.events import send_event
from imsite.shards import pick_shard

NAME_MAX = 64
ANNOUNCEMENT_MAX = 2000
ASSIGNABLE_ROLES = ("admin", "member")


def check_name(raw: Any) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not 1 <= len(name) <= NAME_MAX:
        raise invalid({"name": [f"1 to {NAME_MAX} characters."]})
    return name


def existing_users(user_ids: list[int]) -> list[int]:
    """The ids, all of active users, or `not_found`."""
    found = set(User.objects.filter(id__in=user_ids, is_active=True).values_list("id", flat=True))
    if len(found) != len(user_ids):
        raise not_found(_("No such user."))
    return user_ids


def check_not_blocked_by(user_ids: list[int], actor_id: int) -> None:
    """Only users who have not blocked the actor may be put in a group by them."""
    if Block.objects.filter(blocker_id__in=user_ids, blocked_id=actor_id).exists():
        raise ImError("blocked", _("A user you named has blocked you."))


def check_member_limit(count: int) -> None:
    if count > settings.IM_MAX_GROUP_MEMBERS:
        raise ImError("conflict",
                      _("A group holds at most %(count)d members.") % {"count": settings.IM_MAX_GROUP_MEMBERS})


def check_create_group(creator: User, raw_name: Any, raw_member_ids: Any) -> Group:
    name = check_name(raw_name)
    others = [uid for uid in parse_user_ids(raw_member_ids, "member_ids", allow_empty=True) if uid != creator.id]
    existing_users(others)
    check_not_blocked_by(others, creator.id)
    check_member_limit(1 + len(others))
    with transaction.atomic():
        group = Group.objects.create(name=name, owner=creator)
        conversation_id = f"g_{group.id}"
        group.conversation = Conversation.objects.create(id=conversation_id, kind=Conversation.Kind.GROUP,
                                                         shard=pick_shard(conversation_id))
        group.save(update_fields=["conversation"])
        Membership.objects.bulk_create(
            [Membership(conversation=group.conversation, user_id=creator.id, role=Membership.Role.OWNER)]
            + [Membership(conversation=group.conversation, user_id=uid, role=Membership.Role.MEMBER) for uid in others])
        announce(group, creator.id, "group_created", [creator.id, *others])
    return group


def check_update_group(user_id: int, raw_group_id: Any, data: Any) -> Group:
    """PATCH: name, announcement, avatar; owner or admin. Only changed values are announced."""
    if not isinstance(data, dict):
        raise invalid({"non_field_errors": [_("Expected a JSON object.")]})
    with transaction.atomic():
        group, me = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        require_role(me, Membership.Role.OWNER, Membership.Role.ADMIN)
        changed: dict[str, Any] = {}
        if "name" in data:
            name = check_name(data["name"])
            if name != group.name:
                group.name = changed["name"] = name
        if "announcement" in data:
            text = data["announcement"]
            if text is None:
                text = ""
            if not isinstance(text, str) or len(text.strip()) > ANNOUNCEMENT_MAX:
                raise invalid({"announcement": [
                    _("A string of at most %(count)d characters.") % {"count": ANNOUNCEMENT_MAX}]})
            if text.strip() != group.announcement:
                group.announcement = changed["announcement"] = text.strip()
        if "avatar_attachment_id" in data:
            image = check_avatar_image(user_id, data["avatar_attachment_id"], field="avatar_attachment_id")
            if (image.id if image else None) != group.avatar_id:
                group.avatar = image
                changed["avatar_url"] = avatar_url(image.id if image else None)
        if changed:
            group.save()
            announce(group, user_id, "group_updated", member_ids(group.conversation_id), fields=changed)
    return group


def check_set_role(user_id: int, raw_group_id: Any, raw_user_id: Any, role: Any) -> Membership:
    """PATCH members/{user_id}: owner only; `admin` or `member`."""
    with transaction.atomic():
        group, me = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        require_role(me, Membership.Role.OWNER)
        if role not in ASSIGNABLE_ROLES:
            raise invalid({"role": [_("Must be admin or member.")]})
        target = access_member(group, parse_path_id(raw_user_id, "member"))
        if target.user_id == user_id:
            raise ImError("conflict", _("The owner keeps the owner role; transfer ownership first."))
        if target.role != role:
            Membership.objects.filter(id=target.id).update(role=role)
            target.role = role
            announce(group, user_id, "role_changed", member_ids(group.conversation_id),
                     user_id=target.user_id, role=role)
    return target


def check_transfer(user_id: int, raw_group_id: Any, raw_new_owner: Any) -> Group:
    """POST transfer: owner only; the new owner must be a member; the old owner becomes admin."""
    with transaction.atomic():
        group, me = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        require_role(me, Membership.Role.OWNER)
        new_owner_id = parse_user_id(raw_new_owner, "user_id")
        target = access_member(group, new_owner_id)
        if target.user_id == user_id:
            raise invalid({"user_id": [_("You already own this group.")]})
        Membership.objects.filter(id=target.id).update(role=Membership.Role.OWNER)
        Membership.objects.filter(id=me.id).update(role=Membership.Role.ADMIN)
        group.owner_id = target.user_id
        group.save(update_fields=["owner", "updated_at"])
        message = do_send_system_message(group.conversation, user_id, {
            "event": "owner_transferred", "actor_id": user_id, "user_id": target.user_id})
        # Section 5 has no transfer frame: it is two role changes.
        members = member_ids(group.conversation_id)
        for uid, role in ((target.user_id, "owner"), (user_id, "admin")):
            send_event(group_frame(group, "role_changed", user_id, message.seq, user_id=uid, role=role), members)
    return group


def check_dissolve(user_id: int, raw_group_id: Any) -> None:
    with transaction.atomic():
        group, me = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        require_role(me, Membership.Role.OWNER)
        do_dissolve(group, user_id)


def do_dissolve(group: Group, actor_id: int) -> None:
    """Members stay members (history readable, the conversation stays in their lists); every send
    is refused with `group_dissolved` (chat/actions/send.py). Idempotent."""
    with transaction.atomic():
        group = Group.objects.select_for_update(of=("self",)).select_related("conversation").get(id=group.id)
        if group.dissolved:
            return
        group.dissolved = True
        group.save(update_fields=["dissolved", "updated_at"])
        announce(group, actor_id, "group_dissolved", member_ids(group.conversation_id))
