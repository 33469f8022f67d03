"""The admin site: groups and members listed and searchable, and moderation (dissolve, remove a
member) running the same actions as the API, with the staff user as actor."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from accounts.models import User
from groups.models import Group, GroupMember
from tests.conftest import ALL_DBS
from tests.groups.conftest import roles, system_events

pytestmark = ALL_DBS


@pytest.fixture
def staff(make_user) -> Client:
    user = make_user("moderator")
    User.objects.filter(id=user.id).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(User.objects.get(id=user.id))
    client.user = user
    return client


def test_lists_and_searches_groups_and_members(cast, staff, make_group, make_user):
    people = cast()
    make_group(make_user(), name="other")
    page = staff.get("/admin/groups/group/?q=team").content.decode()
    assert "team" in page and "other" not in page
    detail = staff.get(f"/admin/groups/group/{people['group'].id}/change/").content.decode()
    for name, role in (("owner", "owner"), ("admin2", "admin"), ("member2", "member")):
        assert f"<td>{name}</td><td>{role}</td>" in detail
    assert "outsider" not in detail
    members = staff.get("/admin/groups/groupmember/?q=member2").content.decode()
    assert "member2" in members and "admin2" not in members


def test_dissolve_action(cast, staff, capture):
    people = cast()
    group = people["group"]
    capture.clear()
    response = staff.post("/admin/groups/group/", {"action": "dissolve", "_selected_action": [group.id]})
    assert response.status_code == 302
    assert Group.objects.get(id=group.id).dissolved
    assert system_events(group)[-1] == {"event": "group_dissolved", "actor_id": staff.user.id}
    [(frame, to)] = [(f, r) for f, r in capture if f["type"] == "group"]
    assert frame["event"] == "dissolved" and frame["actor_id"] == staff.user.id
    assert set(to) == {people[k].id for k in ("owner", "admin", "admin2", "member", "member2")}
    # the admin log records who dissolved what
    [entry] = LogEntry.objects.filter(object_id=str(group.id), content_type__model="group")
    assert entry.user_id == staff.user.id and entry.change_message == "Dissolved the group."


def test_remove_member_action_refuses_the_owner(cast, staff, capture):
    people = cast()
    group = people["group"]
    capture.clear()
    rows = GroupMember.objects.filter(conversation_id=group.conversation_id,
                                      user_id__in=[people["admin"].id, people["owner"].id])
    response = staff.post("/admin/groups/groupmember/", {"action": "remove",
                                                          "_selected_action": [m.id for m in rows]}, follow=True)
    page = response.content.decode()
    assert "Removed admin from team" in page and "transfer ownership first" in page
    assert people["admin"].id not in roles(group) and roles(group)[people["owner"].id] == "owner"
    assert system_events(group)[-1] == {"event": "member_removed", "actor_id": staff.user.id,
                                        "user_id": people["admin"].id}
    [(frame, to)] = [(f, r) for f, r in capture if f["type"] == "group"]
    assert (frame["event"], frame["user_id"]) == ("member_removed", people["admin"].id)
    assert people["admin"].id in to


def test_staff_without_change_permission_cannot_moderate(cast, make_user):
    people = cast()
    viewer = make_user("viewer")
    User.objects.filter(id=viewer.id).update(is_staff=True)
    client = Client()
    client.force_login(User.objects.get(id=viewer.id))
    client.post("/admin/groups/group/", {"action": "dissolve", "_selected_action": [people["group"].id]})
    assert not Group.objects.get(id=people["group"].id).dissolved
