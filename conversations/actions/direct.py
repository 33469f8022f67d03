"""Direct (1:1) conversations: one per pair of users, the same id from either side."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext

from accounts.actions.friends import are_friends, is_blocked_between
from accounts.actions.users import access_user
from accounts.models import Block, Friendship, User
from conversations.models import Conversation, Membership
from imsite.errors import ImError, invalid
from imsite.inputs import read_id
from imsite.shards import pick_shard


def direct_id(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"d_{low}_{high}"


def direct_members(conversation_id: str) -> list[int]:
    """Both users of a direct conversation (they never leave it), read from its id."""
    _, low, high = conversation_id.split("_")
    return [int(low), int(high)]


def peer_of(conversation_id: str, user_id: int) -> int:
    _, low, high = conversation_id.split("_")
    return int(high) if int(low) == user_id else int(low)


def direct_checks() -> dict[str, Exists]:
    """Annotations for a Membership query that answer check_direct_allowed's questions in the
    same query (the send hot path)."""
    me, peer = OuterRef("user_id"), OuterRef("peer_id")
    return {
        "blocked_between": Exists(Block.objects.filter(Q(blocker_id=me, blocked_id=peer)
                                                       | Q(blocker_id=peer, blocked_id=me))),
        "befriended": Exists(Friendship.objects.filter(user_id=me, friend_id=peer)),
    }


def check_direct_allowed(user_id: int, peer_id: int, *, blocked: bool | None = None,
                         befriended: bool | None = None) -> None:
    """Blocks are checked first (docs/api.md section 3), then friendship when required. Answers
    already fetched (direct_checks) are used instead of asking the database again."""
    if blocked if blocked is not None else is_blocked_between(user_id, peer_id):
        raise ImError("blocked", gettext("One of you has blocked the other."))
    if settings.IM_DIRECT_REQUIRES_FRIENDSHIP and not (
            befriended if befriended is not None else are_friends(user_id, peer_id)):
        raise ImError("not_friends", gettext("You can only message friends."))


def check_open_direct(user: User, other_id: object) -> tuple[Membership, bool]:
    """The caller's membership in the direct conversation with `other_id`, created if needed."""
    if other_id is None:
        raise invalid({"user_id": [gettext("This field is required.")]})
    other = access_user(read_id(other_id, "user_id", message=gettext("Must be a user id.")))
    if other.id == user.id:
        raise invalid({"user_id": [gettext("You cannot open a conversation with yourself.")]})
    check_direct_allowed(user.id, other.id)
    cid = direct_id(user.id, other.id)
    created = False
    if not Conversation.objects.filter(id=cid).exists():
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(id=cid, kind=Conversation.Kind.DIRECT, shard=pick_shard(cid))
                Membership.objects.bulk_create([
                    Membership(conversation=conversation, user_id=user.id, peer_id=other.id),
                    Membership(conversation=conversation, user_id=other.id, peer_id=user.id),
                ])
                created = True
        except IntegrityError:
            pass  # the other side opened it at the same moment
    membership = Membership.objects.select_related("conversation", "peer").get(conversation_id=cid, user=user)
    if membership.deleted or membership.hidden:
        # Opening a chat on purpose brings it back into the caller's list (history stays cleared).
        Membership.objects.filter(id=membership.id).update(deleted=False, hidden=False)
        membership.refresh_from_db()
    return membership, created
