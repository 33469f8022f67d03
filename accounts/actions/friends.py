"""Friend requests, friendships and blocks (docs/api.md section 2).

Lock order: every action touching a pair of users first locks both user rows, lower id first
(`lock_pair`), so concurrent requests, accepts and blocks between the same two users serialize and
never deadlock.
"""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts import hooks
from accounts.actions.users import access_user
from accounts.models import Block, FriendRequest, Friendship, User
from accounts.representations import friend_request_dict
from imsite.errors import ImError, invalid, not_found
from imsite.inputs import as_id, read_id


def answered_message(request: FriendRequest) -> str:
    """Why a request that is no longer pending cannot be answered."""
    return {
        FriendRequest.Status.ACCEPTED: gettext("This request was accepted."),
        FriendRequest.Status.REJECTED: gettext("This request was rejected."),
    }.get(request.status, gettext("This request was cancelled."))


def lock_pair(a: int, b: int) -> None:
    list(User.objects.select_for_update().filter(id__in=[a, b]).order_by("id").values_list("id", flat=True))


def is_blocked_between(a: int, b: int) -> bool:
    return Block.objects.filter(Q(blocker_id=a, blocked_id=b) | Q(blocker_id=b, blocked_id=a)).exists()


def are_friends(a: int, b: int) -> bool:
    return Friendship.objects.filter(user_id=a, friend_id=b).exists()


def friend_ids(user_id: int) -> list[int]:
    return friend_ids_of([user_id])[user_id]


def friend_ids_of(user_ids: list[int]) -> dict[int, list[int]]:
    """`friend_ids` of many users in one query."""
    friends: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    for user_id, friend_id in Friendship.objects.filter(user_id__in=user_ids).values_list("user_id", "friend_id"):
        friends[user_id].append(friend_id)
    return friends


def _notify_request(request: FriendRequest, user_ids: list[int]) -> None:
    hooks.notify({"type": "friend_request", "request": friend_request_dict(request)}, user_ids)


def _make_friends(a: int, b: int) -> None:
    Friendship.objects.get_or_create(user_id=a, friend_id=b)
    Friendship.objects.get_or_create(user_id=b, friend_id=a)


def check_send_request(sender: User, to_user_id: object, message: object = "") -> tuple[FriendRequest, bool]:
    """Returns (request, created). A pending request the other way is accepted at once."""
    if to_user_id is None:
        raise invalid({"to_user_id": [gettext("This field is required.")]})
    if message is None:
        message = ""
    if not isinstance(message, str) or len(message) > 500:
        raise invalid({"message": [gettext("A string of at most 500 characters.")]})
    target = access_user(read_id(to_user_id, "to_user_id", message=gettext("Must be a user id.")))
    if target.id == sender.id:
        raise invalid({"to_user_id": [gettext("You cannot befriend yourself.")]})
    with transaction.atomic():
        lock_pair(sender.id, target.id)
        if is_blocked_between(sender.id, target.id):
            raise ImError("blocked", gettext("One of you has blocked the other."))
        if are_friends(sender.id, target.id):
            raise ImError("conflict", gettext("You are already friends."))
        if FriendRequest.objects.filter(from_user=sender, to_user=target, status="pending").exists():
            raise ImError("conflict", gettext("A request is already pending."))
        reverse = FriendRequest.objects.filter(from_user=target, to_user=sender, status="pending").first()
        if reverse is not None:
            return do_accept(reverse), False
        request = FriendRequest.objects.create(from_user=sender, to_user=target, message=message.strip())
        _notify_request(request, [target.id])
        return request, True


def _access_request(request_id: object, **side: User) -> FriendRequest:
    """A request on the caller's side (`to_user` or `from_user`); anyone else's is not found
    (its existence is not revealed)."""
    try:
        return FriendRequest.objects.select_related("from_user", "to_user").get(
            id=as_id(request_id, strings=True), **side)
    except FriendRequest.DoesNotExist:
        raise not_found(gettext("No such friend request.")) from None


def access_incoming_request(user: User, request_id: object) -> FriendRequest:
    return _access_request(request_id, to_user=user)


def do_accept(request: FriendRequest) -> FriendRequest:
    with transaction.atomic():
        lock_pair(request.from_user_id, request.to_user_id)
        request.refresh_from_db()
        if request.status == FriendRequest.Status.ACCEPTED:
            return request  # idempotent
        if request.status != FriendRequest.Status.PENDING:
            raise ImError("conflict", answered_message(request))
        if is_blocked_between(request.from_user_id, request.to_user_id):
            raise ImError("blocked", gettext("One of you has blocked the other."))
        request.status = FriendRequest.Status.ACCEPTED
        request.answered_at = timezone.now()
        request.save(update_fields=["status", "answered_at"])
        _make_friends(request.from_user_id, request.to_user_id)
        _notify_request(request, [request.from_user_id, request.to_user_id])
        return request


def _do_close(request: FriendRequest, status: str, notify: list[int]) -> FriendRequest:
    """A pending request rejected or cancelled (again: no change); an answered one: conflict."""
    with transaction.atomic():
        lock_pair(request.from_user_id, request.to_user_id)
        request.refresh_from_db()
        if request.status == status:
            return request
        if request.status != FriendRequest.Status.PENDING:
            raise ImError("conflict", answered_message(request))
        request.status = status
        request.answered_at = timezone.now()
        request.save(update_fields=["status", "answered_at"])
        _notify_request(request, notify)
        return request


def do_reject(request: FriendRequest) -> FriendRequest:
    return _do_close(request, FriendRequest.Status.REJECTED, [request.from_user_id, request.to_user_id])


def access_outgoing_request(user: User, request_id: object) -> FriendRequest:
    return _access_request(request_id, from_user=user)


def do_cancel(request: FriendRequest) -> FriendRequest:
    """The requester takes a pending request back; the addressee's devices are told (a
    `friend_request` frame with status `cancelled`), so it leaves their list."""
    return _do_close(request, FriendRequest.Status.CANCELLED, [request.to_user_id])


def pending_requests(user: User, direction: str) -> QuerySet[FriendRequest]:
    if direction not in {"incoming", "outgoing"}:
        raise invalid({"direction": [gettext("Must be incoming or outgoing.")]})
    mine = {"to_user": user} if direction == "incoming" else {"from_user": user}
    return (FriendRequest.objects.filter(status="pending", **mine)
            .select_related("from_user", "to_user").order_by("-id"))


def friends_of(user: User) -> QuerySet[Friendship]:
    return Friendship.objects.filter(user=user).select_related("friend").order_by("-id")


def do_unfriend(user: User, other_id: object) -> None:
    other = access_user(as_id(other_id, strings=True))
    with transaction.atomic():
        lock_pair(user.id, other.id)
        deleted, _ = Friendship.objects.filter(Q(user=user, friend=other) | Q(user=other, friend=user)).delete()
    if not deleted:
        raise not_found(gettext("You are not friends."))


def check_block(user: User, other_id: object) -> User:
    if other_id is None:
        raise invalid({"user_id": [gettext("This field is required.")]})
    other = access_user(read_id(other_id, "user_id", message=gettext("Must be a user id.")))
    if other.id == user.id:
        raise invalid({"user_id": [gettext("You cannot block yourself.")]})
    with transaction.atomic():
        lock_pair(user.id, other.id)
        Block.objects.get_or_create(blocker=user, blocked=other)
        Friendship.objects.filter(Q(user=user, friend=other) | Q(user=other, friend=user)).delete()
        FriendRequest.objects.filter(
            Q(from_user=user, to_user=other) | Q(from_user=other, to_user=user), status="pending"
        ).update(status=FriendRequest.Status.CANCELLED, answered_at=timezone.now())
    return other


def do_unblock(user: User, other_id: object) -> None:
    other = as_id(other_id, strings=True)
    if other is None:
        raise not_found(gettext("No such block."))
    deleted, _ = Block.objects.filter(blocker=user, blocked_id=other).delete()
    if not deleted:
        raise not_found(gettext("No such block."))


def blocked_users(user: User) -> QuerySet[User]:
    return User.objects.filter(id__in=Block.objects.filter(blocker=user).values("blocked_id")).order_by("id")
