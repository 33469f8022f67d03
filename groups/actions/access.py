"""Finding a group for a caller, and parsing the ids and fields every group action takes.

Non-members get `not_found` on everything of a group (docs/api.md section 4): a group someone is not
in does not exist for them. A dissolved group stays visible to those who were members then.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from conversations.models import Membership
from groups.models import Group
from imsite.errors import ImError, invalid, not_found
from imsite.inputs import as_id, read_id


def parse_path_id(raw: Any, what: str) -> int:
    """An id from the URL: anything that is not a positive integer names nothing."""
    value = as_id(raw, strings=True)
    if value is None:
        raise not_found(_("No such group.") if what == "group" else _("No such member."))
    return value


def parse_user_id(raw: Any, field: str) -> int:
    """A user id in a body: an integer (JSON number); anything else is a validation error."""
    return read_id(raw, field, message=_("Must be a user id (an integer)."))


def parse_user_ids(raw: Any, field: str, *, allow_empty: bool) -> list[int]:
    """A list of user ids, duplicates dropped, order kept."""
    if raw is None and allow_empty:
        return []
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise invalid({field: [_("Must be a non-empty list of user ids.") if not allow_empty
                               else _("Must be a list of user ids.")]})
    if any(as_id(item) is None for item in raw):
        raise invalid({field: [_("Must hold user ids (integers).")]})
    return list(dict.fromkeys(raw))


def access_group(user_id: int, raw_group_id: Any, *, lock: bool = False) -> tuple[Group, Membership]:
    """The group and the caller's active membership in it, or `not_found`. With `lock`, the group
    row is locked first (inside the caller's transaction): every membership change of a group
    serializes on it, so member limits and role checks see a stable group."""
    group_id = parse_path_id(raw_group_id, "group")
    queryset = Group.objects.select_related("conversation")
    if lock:
        assert transaction.get_connection().in_atomic_block, "lock=True needs a transaction"
        queryset = queryset.select_for_update(of=("self",))
    group = queryset.filter(id=group_id).first()
    if group is None or group.conversation_id is None:
        raise not_found(_("No such group."))
    membership = Membership.objects.filter(conversation_id=group.conversation_id, user_id=user_id, active=True).first()
    if membership is None:
        raise not_found(_("No such group."))
    membership.conversation = group.conversation
    return group, membership


def access_member(group: Group, user_id: int) -> Membership:
    """A current member of the group (with its user), or `not_found`."""
    target = Membership.objects.select_related("user").filter(
        conversation_id=group.conversation_id, user_id=user_id, active=True).first()
    if target is None:
        raise not_found(_("No such member."))
    return target


def check_not_dissolved(group: Group) -> None:
    if group.dissolved:
        raise ImError("group_dissolved", _("This group was dissolved."))


def require_role(membership: Membership, *roles: str) -> None:
    if membership.role not in roles:
        raise ImError("forbidden", _("Your role in this group does not allow this."))
