"""Finding a user's conversation, with the membership check every path shares."""

from typing import Any

from django.utils.translation import gettext as _

from conversations.models import Membership
from imsite.errors import not_found


def _valid_id(conversation_id: object) -> bool:
    return isinstance(conversation_id, str) and 0 < len(conversation_id) <= 40


def access_memberships(pairs: list[tuple[int, Any]], *, lock: bool = False, related: tuple[str, ...] = (),
                       **annotations: Any) -> dict[tuple[int, str], Membership]:
    """Active memberships (with their conversations) for (user id, conversation id) pairs, in one
    query; a pair that is missing from the answer is `not_found` for its caller. Hot paths fetch
    what their checks need in the same query (`related`, `annotations`). Locked rows are taken in
    id order (the lock order of several memberships)."""
    pairs = [(user_id, cid) for user_id, cid in pairs if _valid_id(cid)]
    if not pairs:
        return {}
    queryset = Membership.objects.select_related("conversation", *related)
    if annotations:
        queryset = queryset.annotate(**annotations)
    if lock:
        queryset = queryset.select_for_update(of=("self",)).order_by("id")
    users, conversations = {u for u, _ in pairs}, {c for _, c in pairs}
    if len(pairs) == 1:
        queryset = queryset.filter(user_id=pairs[0][0], conversation_id=pairs[0][1])
    else:  # a superset of the pairs (users x conversations), narrowed below
        queryset = queryset.filter(user_id__in=users, conversation_id__in=conversations)
    wanted = set(pairs)
    return {key: m for m in queryset.filter(active=True)
            if (key := (m.user_id, m.conversation_id)) in wanted}


def member_of(found: dict[tuple[int, str], Membership], user_id: int, conversation_id: object) -> Membership | None:
    """A pair's membership from access_memberships' answer (None: `not_found` for the caller).
    A conversation id of the wrong type (a list, an object: unhashable) is simply not found."""
    return found.get((user_id, conversation_id)) if _valid_id(conversation_id) else None  # type: ignore[arg-type]


def access_membership(user_id: int, conversation_id: object, *, lock: bool = False, related: tuple[str, ...] = (),
                      **annotations: Any) -> Membership:
    """The caller's active membership (with its conversation), or `not_found`: a conversation
    someone is not in, or left, does not exist for them."""
    found = access_memberships([(user_id, conversation_id)], lock=lock, related=related, **annotations)
    membership = member_of(found, user_id, conversation_id)
    if membership is None:
        raise not_found(_("No such conversation."))
    return membership


def member_ids(conversation_id: str) -> list[int]:
    return list(Membership.objects.filter(conversation_id=conversation_id, active=True)
                .values_list("user_id", flat=True))
