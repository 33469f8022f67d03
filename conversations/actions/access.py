"""Finding a user's conversation, with the membership check every path shares."""

from typing import Any

from conversations.models import Membership
from imsite.errors import not_found


def access_membership(user_id: int, conversation_id: object, *, lock: bool = False, related: tuple[str, ...] = (),
                      **annotations: Any) -> Membership:
    """The caller's active membership (with its conversation), or `not_found`: a conversation
    someone is not in, or left, does not exist for them. Hot paths fetch what their checks need
    in the same query (`related`, `annotations`)."""
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > 40:
        raise not_found("No such conversation.")
    queryset = Membership.objects.select_related("conversation", *related)
    if annotations:
        queryset = queryset.annotate(**annotations)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    membership = queryset.filter(user_id=user_id, conversation_id=conversation_id, active=True).first()
    if membership is None:
        raise not_found("No such conversation.")
    return membership


def member_ids(conversation_id: str) -> list[int]:
    return list(Membership.objects.filter(conversation_id=conversation_id, active=True)
                .values_list("user_id", flat=True))
