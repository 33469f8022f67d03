"""Every role rule of docs/api.md section 4 over REST, both ways: who may, who may not (403), and
non-members (404). A refused call changes nothing."""

import pytest

from tests.conftest import ALL_DBS
from tests.groups.conftest import call, roles, snapshot, system_events

pytestmark = ALL_DBS

# (actor, method, path under /api/v1/groups/{gid}, body, status when refused or allowed)
# {u:name} in the path is the id of that user.
RULES = [
    # settings: owner and admin
    ("owner", "patch", "", {"name": "renamed"}, 200),
    ("admin", "patch", "", {"name": "renamed"}, 200),
    ("member", "patch", "", {"name": "renamed"}, 403),
    ("outsider", "patch", "", {"name": "renamed"}, 404),
    ("admin", "patch", "", {"announcement": "read the rules"}, 200),
    ("member", "patch", "", {"announcement": "read the rules"}, 403),
    # reading: any member
    ("member", "get", "", None, 200),
    ("outsider", "get", "", None, 404),
    # adding: any member
    ("owner", "post", "/members", {"user_ids": ["{u:outsider}"]}, 200),
    ("admin", "post", "/members", {"user_ids": ["{u:outsider}"]}, 200),
    ("member", "post", "/members", {"user_ids": ["{u:outsider}"]}, 200),
    ("outsider", "post", "/members", {"user_ids": ["{u:outsider}"]}, 404),
    # removing: the owner anyone, an admin members only
    ("owner", "delete", "/members/{u:admin}", None, 204),
    ("owner", "delete", "/members/{u:member}", None, 204),
    ("admin", "delete", "/members/{u:member}", None, 204),
    ("admin", "delete", "/members/{u:admin2}", None, 403),
    ("admin", "delete", "/members/{u:owner}", None, 403),
    ("member", "delete", "/members/{u:member2}", None, 403),
    ("member", "delete", "/members/{u:admin}", None, 403),
    ("member", "delete", "/members/{u:owner}", None, 403),
    ("outsider", "delete", "/members/{u:member}", None, 404),
    # leaving: anyone but the owner
    ("member", "delete", "/members/{u:member}", None, 204),
    ("admin", "delete", "/members/{u:admin}", None, 204),
    ("owner", "delete", "/members/{u:owner}", None, 409),
    # roles: owner only
    ("owner", "patch", "/members/{u:member}", {"role": "admin"}, 200),
    ("owner", "patch", "/members/{u:admin}", {"role": "member"}, 200),
    ("admin", "patch", "/members/{u:member}", {"role": "admin"}, 403),
    ("admin", "patch", "/members/{u:admin2}", {"role": "member"}, 403),
    ("member", "patch", "/members/{u:member2}", {"role": "admin"}, 403),
    ("outsider", "patch", "/members/{u:member}", {"role": "admin"}, 404),
    # transfer: owner only
    ("owner", "post", "/transfer", {"user_id": "{u:member}"}, 200),
    ("admin", "post", "/transfer", {"user_id": "{u:admin}"}, 403),
    ("member", "post", "/transfer", {"user_id": "{u:member}"}, 403),
    ("outsider", "post", "/transfer", {"user_id": "{u:member}"}, 404),
    # dissolve: owner only
    ("owner", "delete", "", None, 204),
    ("admin", "delete", "", None, 403),
    ("member", "delete", "", None, 403),
    ("outsider", "delete", "", None, 404),
]

CODES = {403: "forbidden", 404: "not_found", 409: "conflict"}


def fill(value, people):
    if isinstance(value, str) and value.startswith("{u:"):
        return people[value[3:-1]].id
    if isinstance(value, str):
        for name, user in people.items():
            value = value.replace("{u:" + name + "}", str(getattr(user, "id", "")))
        return value
    if isinstance(value, list):
        return [fill(v, people) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, people) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("actor", "method", "path", "body", "status"), RULES,
                         ids=[f"{r[0]}-{r[1]}{r[2] or '/'}-{r[4]}" for r in RULES])
def test_role_rule(cast, client_for, actor, method, path, body, status):
    people = cast()
    group = people["group"]
    before = snapshot(group.id)
    client = client_for(people[actor])
    url = f"/api/v1/groups/{group.id}{fill(path, people)}"
    response = call(client, method, url, fill(body, people))
    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["error"]["code"] == CODES[status]
        assert snapshot(group.id) == before
    elif method != "get":
        after = snapshot(group.id)
        assert after != before
        # every change is one system message more, by the actor
        assert len(after["messages"]) == len(before["messages"]) + 1
        assert system_events(group)[-1]["actor_id"] == people[actor].id


def test_role_changes_take_effect(cast, client_for):
    people = cast()
    group, owner, member = people["group"], people["owner"], people["member"]
    assert client_for(owner).patch(f"/api/v1/groups/{group.id}/members/{member.id}", {"role": "admin"},
                                   format="json").json() == {
        "user": {"id": member.id, "username": "member", "display_name": "member", "avatar_url": None},
        "role": "admin"}
    # the new admin may now remove a plain member, and may not remove the other admin
    client = client_for(member)
    assert client.delete(f"/api/v1/groups/{group.id}/members/{people['member2'].id}").status_code == 204
    assert client.delete(f"/api/v1/groups/{group.id}/members/{people['admin'].id}").status_code == 403
    assert roles(group)[member.id] == "admin" and people["member2"].id not in roles(group)


def test_transfer_makes_old_owner_admin(cast, client_for):
    people = cast()
    group, owner, member = people["group"], people["owner"], people["member"]
    body = client_for(owner).post(f"/api/v1/groups/{group.id}/transfer", {"user_id": member.id}, format="json").json()
    assert body["owner_id"] == member.id
    assert {m["user"]["id"]: m["role"] for m in body["members"]}[owner.id] == "admin"
    assert roles(group)[member.id] == "owner" and roles(group)[owner.id] == "admin"
    assert system_events(group)[-1] == {"event": "owner_transferred", "actor_id": owner.id, "user_id": member.id}
    # the old owner lost the owner's rights, and may now leave
    assert client_for(owner).delete(f"/api/v1/groups/{group.id}").status_code == 403
    assert client_for(owner).delete(f"/api/v1/groups/{group.id}/members/{owner.id}").status_code == 204
