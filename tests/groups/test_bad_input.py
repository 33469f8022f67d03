"""Bad input on every group endpoint: the error of docs/api.md section 0, never a 500, nothing half-done."""

import pytest

from accounts.actions.friends import check_block
from groups.actions import members
from groups.models import Group
from tests.conftest import ALL_DBS
from tests.groups.conftest import call, snapshot
from tests.groups.test_roles_rest import fill

pytestmark = ALL_DBS

# (actor, method, path under /api/v1/groups/{gid}, body, status, code)
BAD = [
    ("owner", "patch", "", {"name": ""}, 400, "invalid"),
    ("owner", "patch", "", {"name": "   "}, 400, "invalid"),
    ("owner", "patch", "", {"name": "x" * 65}, 400, "invalid"),
    ("owner", "patch", "", {"name": 5}, 400, "invalid"),
    ("owner", "patch", "", {"announcement": ["no"]}, 400, "invalid"),
    ("owner", "patch", "", {"announcement": "x" * 2001}, 400, "invalid"),
    ("owner", "patch", "", {"avatar_attachment_id": "7"}, 400, "invalid"),
    ("owner", "patch", "", {"avatar_attachment_id": 999999}, 400, "invalid"),
    ("owner", "patch", "", {"name": "ok", "announcement": 3}, 400, "invalid"),  # nothing of it applied
    ("owner", "patch", "", ["name"], 400, "invalid"),
    ("owner", "post", "/members", {}, 400, "invalid"),
    ("owner", "post", "/members", {"user_ids": []}, 400, "invalid"),
    ("owner", "post", "/members", {"user_ids": "{u:outsider}"}, 400, "invalid"),
    ("owner", "post", "/members", {"user_ids": ["x"]}, 400, "invalid"),
    ("owner", "post", "/members", {"user_ids": [True]}, 400, "invalid"),
    ("owner", "post", "/members", {"user_ids": ["{u:outsider}", 999999]}, 404, "not_found"),
    ("owner", "delete", "/members/999999", None, 404, "not_found"),
    ("owner", "delete", "/members/abc", None, 404, "not_found"),
    ("owner", "delete", "/members/{u:outsider}", None, 404, "not_found"),
    ("owner", "patch", "/members/{u:member}", {"role": "owner"}, 400, "invalid"),
    ("owner", "patch", "/members/{u:member}", {"role": "boss"}, 400, "invalid"),
    ("owner", "patch", "/members/{u:member}", {"role": 1}, 400, "invalid"),
    ("owner", "patch", "/members/{u:member}", {}, 400, "invalid"),
    ("owner", "patch", "/members/{u:owner}", {"role": "member"}, 409, "conflict"),
    ("owner", "patch", "/members/{u:outsider}", {"role": "admin"}, 404, "not_found"),
    ("owner", "patch", "/members/999999", {"role": "admin"}, 404, "not_found"),
    ("owner", "post", "/transfer", {"user_id": "{u:outsider}"}, 404, "not_found"),
    ("owner", "post", "/transfer", {"user_id": 999999}, 404, "not_found"),
    ("owner", "post", "/transfer", {"user_id": "abc"}, 400, "invalid"),
    ("owner", "post", "/transfer", {"user_id": True}, 400, "invalid"),
    ("owner", "post", "/transfer", {}, 400, "invalid"),
    ("owner", "post", "/transfer", {"user_id": "{u:owner}"}, 400, "invalid"),
    ("owner", "get", "/read_receipts", None, 400, "invalid"),
    ("owner", "get", "/read_receipts?seq=abc", None, 400, "invalid"),
    ("owner", "get", "/read_receipts?seq=-1", None, 400, "invalid"),
    ("owner", "get", "/read_receipts?seq=999", None, 404, "not_found"),
    ("outsider", "get", "/read_receipts?seq=1", None, 404, "not_found"),
    # an outsider learns nothing, whatever the body
    ("outsider", "patch", "", {"name": ""}, 404, "not_found"),
    ("outsider", "post", "/members", {"user_ids": "x"}, 404, "not_found"),
    ("outsider", "post", "/transfer", {"user_id": "x"}, 404, "not_found"),
    ("outsider", "patch", "/members/{u:member}", {"role": "boss"}, 404, "not_found"),
]


@pytest.mark.parametrize(("actor", "method", "path", "body", "status", "code"), BAD,
                         ids=[f"{r[0]}-{r[1]}{r[2] or '/'}-{r[3]}" for r in BAD])
def test_bad_input(cast, client_for, actor, method, path, body, status, code):
    people = cast()
    group = people["group"]
    before = snapshot(group.id)
    client = client_for(people[actor])
    url = f"/api/v1/groups/{group.id}{fill(path, people)}"
    response = call(client, method, url, fill(body, people))
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if code == "invalid" and isinstance(body, dict):  # a non-object body is refused by the parser
        assert response.json()["error"]["fields"]
    assert snapshot(group.id) == before


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/groups/999999"), ("get", "/api/v1/groups/abc"), ("delete", "/api/v1/groups/-1"),
    ("post", "/api/v1/groups/0/members"), ("post", "/api/v1/groups/99999999999999999999999/transfer"),
    ("get", "/api/v1/groups/999999/read_receipts?seq=1"), ("patch", "/api/v1/groups/999999/members/1"),
])
def test_unknown_groups_are_404(make_user, client_for, method, path):
    response = getattr(client_for(make_user()), method)(path, {}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_create_validation_creates_nothing(make_user, client_for, settings):
    owner, friend, blocker = make_user(), make_user(), make_user()
    check_block(blocker, owner.id)
    client = client_for(owner)
    cases = [
        ({"member_ids": [friend.id]}, 400, "invalid"),
        ({"name": "", "member_ids": [friend.id]}, 400, "invalid"),
        ({"name": "x" * 65}, 400, "invalid"),
        ({"name": "team", "member_ids": friend.id}, 400, "invalid"),
        ({"name": "team", "member_ids": [str(friend.id)]}, 400, "invalid"),
        ({"name": "team", "member_ids": [friend.id, 999999]}, 404, "not_found"),
        ({"name": "team", "member_ids": [friend.id, blocker.id]}, 403, "blocked"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/groups", body, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    settings.IM_MAX_GROUP_MEMBERS = 2
    response = client.post("/api/v1/groups", {"name": "team", "member_ids": [friend.id, make_user().id]}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")
    assert not Group.objects.exists()
    # the owner counts: owner + one member is exactly the limit
    assert client.post("/api/v1/groups", {"name": "team", "member_ids": [friend.id]}, format="json").status_code == 201


def test_dissolved_group_refuses_changes_but_stays_readable(cast, client_for):
    people = cast()
    group, owner = people["group"], people["owner"]
    cid = group.conversation_id
    assert client_for(owner).post(f"/api/v1/conversations/{cid}/messages",
                                  {"msg_type": "text", "content": {"text": "before"}}, format="json").status_code == 201
    assert client_for(owner).delete(f"/api/v1/groups/{group.id}").status_code == 204
    before = snapshot(group.id)
    calls = [
        ("owner", "patch", "", {"name": "again"}),
        ("admin", "post", "/members", {"user_ids": [people["outsider"].id]}),
        ("owner", "delete", "/members/{u:member}", None),
        ("member", "delete", "/members/{u:member}", None),
        ("owner", "patch", "/members/{u:member}", {"role": "admin"}),
        ("owner", "post", "/transfer", {"user_id": people["member"].id}),
        ("owner", "delete", "", None),
    ]
    for actor, method, path, body in calls:
        url = f"/api/v1/groups/{group.id}{fill(path, people)}"
        client = client_for(people[actor])
        response = call(client, method, url, body)
        assert response.status_code == 409 and response.json()["error"]["code"] == "group_dissolved", (path, response)
    send = client_for(people["member"]).post(f"/api/v1/conversations/{cid}/messages",
                                             {"msg_type": "text", "content": {"text": "after"}}, format="json")
    assert send.status_code == 409 and send.json()["error"]["code"] == "group_dissolved"
    assert snapshot(group.id) == before
    # members then still see it: dissolved, history readable, in their list
    client = client_for(people["member"])
    assert client.get(f"/api/v1/groups/{group.id}").json()["dissolved"] is True
    history = client.get(f"/api/v1/conversations/{cid}/messages").json()["results"]
    texts = [m["content"].get("event") or m["content"].get("text") for m in history]
    assert texts[-2:] == ["before", "group_dissolved"]
    listed = client.get("/api/v1/conversations").json()["results"]
    assert [c["group"]["dissolved"] for c in listed if c["id"] == cid] == [True]
    assert client_for(people["outsider"]).get(f"/api/v1/groups/{group.id}").status_code == 404


def test_inviting_twice_adds_once(cast, client_for):
    people = cast()
    group, outsider = people["group"], people["outsider"]
    client = client_for(people["member"])
    body = client.post(f"/api/v1/groups/{group.id}/members", {"user_ids": [outsider.id, outsider.id]},
                       format="json").json()
    assert [m["user"]["id"] for m in body["members"]].count(outsider.id) == 1
    before = snapshot(group.id)
    again = client.post(f"/api/v1/groups/{group.id}/members", {"user_ids": [outsider.id, people["owner"].id]},
                        format="json")
    assert again.status_code == 200 and again.json()["member_count"] == 6
    assert snapshot(group.id) == before  # already members: ignored, no system message


def test_add_over_limit_or_blocked_adds_nobody(cast, client_for, make_user, settings):
    people = cast()
    group = people["group"]
    fresh, blocker = make_user(), make_user()
    check_block(blocker, people["member"].id)
    before = snapshot(group.id)
    client = client_for(people["member"])
    response = client.post(f"/api/v1/groups/{group.id}/members", {"user_ids": [fresh.id, blocker.id]}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "blocked")
    settings.IM_MAX_GROUP_MEMBERS = 6
    response = client.post(f"/api/v1/groups/{group.id}/members",
                           {"user_ids": [fresh.id, people["outsider"].id]}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")
    assert snapshot(group.id) == before
    # someone blocked by the member is fine to add for another member the blocker did not block
    assert client_for(people["owner"]).post(f"/api/v1/groups/{group.id}/members", {"user_ids": [blocker.id]},
                                            format="json").status_code == 200


def test_removed_member_is_an_outsider(cast, client_for):
    people = cast()
    group, member = people["group"], people["member"]
    members.check_remove_member(people["owner"].id, group.id, member.id)
    client = client_for(member)
    cid = group.conversation_id
    for response in (client.get(f"/api/v1/groups/{group.id}"),
                     client.patch(f"/api/v1/groups/{group.id}", {"name": "x"}, format="json"),
                     client.post(f"/api/v1/groups/{group.id}/members", {"user_ids": [member.id]}, format="json"),
                     client.delete(f"/api/v1/groups/{group.id}/members/{member.id}"),
                     client.get(f"/api/v1/groups/{group.id}/read_receipts?seq=1"),
                     client.get(f"/api/v1/conversations/{cid}/messages"),
                     client.post(f"/api/v1/conversations/{cid}/messages",
                                 {"msg_type": "text", "content": {"text": "x"}}, format="json")):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
