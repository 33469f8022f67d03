"""Joining and leaving a group (docs/api.md section 4): add, remove, leave.

A member sees the conversation from their join point on: `join_seq` is the seq just before their
`member_added` message. Leaving or being removed ends the membership (`active=False`) at the seq of
the `member_left`/`member_removed` message (`left_seq`): nothing sent later reaches them, and the
history answers them 404 like any conversation they are not in. Adding a former member again opens
a new visible range on the same row.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from conversations.actions.access import member_ids
from conversations.models import Membership
from groups.actions.access import (
    access_group,
    access_member,
    check_not_dissolved,
    parse_path_id,
    parse_user_ids,
)
from groups.actions.announce import announce
from groups.actions.manage import check_member_limit, check_not_blocked_by, existing_users
from groups.models import Group
from imsite.errors import ImError

Role = Membership.Role


def check_add_members(user_id: int, raw_group_id: Any, raw_user_ids: Any) -> Group:
    """Any member adds users who have not blocked them; current members are ignored; over the
    limit nobody is added."""
    with transaction.atomic():
        group, _ = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        ids = existing_users(parse_user_ids(raw_user_ids, "user_ids", allow_empty=False))
        current = set(member_ids(group.conversation_id))
        new = [uid for uid in ids if uid not in current]
        if new:
            check_not_blocked_by(new, user_id)
            check_member_limit(len(current) + len(new))
            do_add_members(group, user_id, new)
    return group


def do_add_members(group: Group, actor_id: int, user_ids: list[int]) -> None:
    """Add users who are not current members (former members' rows are re-opened)."""
    with transaction.atomic():
        conversation_id = group.conversation_id
        former = set(Membership.objects.filter(conversation_id=conversation_id, user_id__in=user_ids)
                     .values_list("user_id", flat=True))
        Membership.objects.filter(conversation_id=conversation_id, user_id__in=former).update(
            active=True, role=Role.MEMBER, left_seq=None, hidden=False, deleted=False, updated_at=timezone.now())
        Membership.objects.bulk_create([Membership(conversation_id=conversation_id, user_id=uid, role=Role.MEMBER)
                                        for uid in user_ids if uid not in former])
        message = announce(group, actor_id, "member_added", member_ids(conversation_id), user_ids=user_ids)
        # They see from their own member_added message on.
        Membership.objects.filter(conversation_id=conversation_id, user_id__in=user_ids).update(
            join_seq=message.seq - 1)


def check_remove_member(user_id: int, raw_group_id: Any, raw_target_id: Any) -> None:
    """The owner removes anyone; an admin removes members; anyone leaves, except the owner, who
    must transfer first."""
    with transaction.atomic():
        group, me = access_group(user_id, raw_group_id, lock=True)
        check_not_dissolved(group)
        target = access_member(group, parse_path_id(raw_target_id, "member"))
        if target.user_id == user_id:
            if me.role == Role.OWNER:
                raise ImError("conflict", gettext("The owner must transfer ownership before leaving."))
        elif not (me.role == Role.OWNER or (me.role == Role.ADMIN and target.role == Role.MEMBER)):
            raise ImError("forbidden", gettext("Your role in this group does not allow removing this member."))
        do_remove_member(group, target, user_id)


def do_remove_member(group: Group, target: Membership, actor_id: int) -> None:
    """End `target`'s membership (a leave when the actor is the target). The remaining members
    get the system message; the one who went gets only the `group` frame saying so."""
    with transaction.atomic():
        Membership.objects.filter(id=target.id).update(active=False, updated_at=timezone.now())
        event = "member_left" if actor_id == target.user_id else "member_removed"
        recipients = [*member_ids(group.conversation_id), target.user_id]
        message = announce(group, actor_id, event, recipients, user_id=target.user_id)
        Membership.objects.filter(id=target.id).update(left_seq=message.seq)


def check_staff_remove(group_id: int, user_id: int, staff_id: int) -> None:
    """Moderation from the admin site: a staff user (not a member) removes a member. The owner
    cannot be removed (ownership must be transferred first); the same events follow."""
    with transaction.atomic():
        group = Group.objects.select_for_update(of=("self",)).select_related("conversation").get(id=group_id)
        check_not_dissolved(group)
        target = access_member(group, user_id)
        if target.role == Role.OWNER:
            raise ImError("conflict", gettext("The owner cannot be removed; transfer ownership first."))
        do_remove_member(group, target, staff_id)
