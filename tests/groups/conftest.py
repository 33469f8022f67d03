"""Group fixtures: a group with roles set up through the actions, and a snapshot of everything a
group change writes (to prove a refused call changed nothing)."""

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from accounts.models import User
from chat.models import Message
from conversations.models import Membership
from groups.actions import manage
from groups.models import Group
from imsite.shards import shard_alias


@pytest.fixture
def make_group(make_user: Callable[..., User]) -> Callable[..., Group]:
    """`make_group(owner, admins=[...], members=[...])`, roles set through the actions."""

    def make(owner: User, admins: Sequence[User] = (), members: Sequence[User] = (), name: str = "team") -> Group:
        group = manage.check_create_group(owner, name, [u.id for u in [*admins, *members]])
        for admin in admins:
            manage.check_set_role(owner.id, group.id, admin.id, "admin")
        return Group.objects.get(id=group.id)

    return make


@pytest.fixture
def cast(make_user: Callable[..., User], make_group: Callable[..., Group]) -> Callable[[], dict[str, Any]]:
    """A group with one user of each kind: owner, admin, admin2, member, member2, and outsider."""

    def build() -> dict[str, Any]:
        people = {name: make_user(name) for name in ("owner", "admin", "admin2", "member", "member2", "outsider")}
        people["group"] = make_group(people["owner"], admins=[people["admin"], people["admin2"]],
                                     members=[people["member"], people["member2"]])
        return people

    return build


def snapshot(group_id: int) -> dict[str, Any]:
    """Every row a group action may write: the group, its memberships, its messages."""
    group = Group.objects.select_related("conversation").get(id=group_id)
    alias = shard_alias(group.conversation.shard)
    return {
        "group": Group.objects.filter(id=group_id).values().get(),
        "conversation": (group.conversation.last_seq, group.conversation.last_message),
        "members": list(Membership.objects.filter(conversation_id=group.conversation_id).order_by("user_id")
                        .values("user_id", "role", "active", "join_seq", "left_seq")),
        "messages": list(Message.objects.using(alias).filter(conversation_id=group.conversation_id)
                         .order_by("seq").values_list("seq", "content")),
    }


def system_events(group: Group) -> list[dict[str, Any]]:
    alias = shard_alias(group.conversation.shard)
    return list(Message.objects.using(alias).filter(conversation_id=group.conversation_id, type="system")
                .order_by("seq").values_list("content", flat=True))


def roles(group: Group) -> dict[int, str]:
    return dict(Membership.objects.filter(conversation_id=group.conversation_id, active=True)
                .values_list("user_id", "role"))


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Users here are made by the dozen; hashing their passwords properly is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def call(client: Any, method: str, url: str, body: Any = None) -> Any:
    """One REST call, with a JSON body when there is one."""
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")
