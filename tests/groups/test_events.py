"""What each group change tells whom: the `system` message (pushed as `message` frames to the
current members) and the `group` frame, with exact payloads and recipient sets."""

from groups.actions import manage, members
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def frames(capture, kind):
    return [(frame, set(recipients)) for frame, recipients in capture if frame["type"] == kind]


def pushed_message(capture):
    """The one system message pushed, and everyone it was pushed to (sender's own copy included)."""
    pushed = frames(capture, "message")
    assert len({f["message"]["seq"] for f, _ in pushed}) == 1, pushed
    return pushed[0][0]["message"], set().union(*(r for _, r in pushed))


def ids(*users):
    return {u.id for u in users}


def test_created(make_user, capture):
    owner, a, b = make_user(), make_user(), make_user()
    group = manage.check_create_group(owner, "team", [a.id, b.id])
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "group_created", "actor_id": owner.id} and to == ids(owner, a, b)
    assert message["type"] == "system" and message["seq"] == 1 and message["sender_id"] == owner.id
    assert frames(capture, "group") == [({"type": "group", "group_id": group.id, "conversation_id": f"g_{group.id}",
                                          "event": "created", "actor_id": owner.id, "seq": 1}, ids(owner, a, b))]


def test_member_added(cast, make_user, capture):
    people = cast()
    group, member, fresh = people["group"], people["member"], make_user()
    capture.clear()
    members.check_add_members(member.id, group.id, [fresh.id, people["owner"].id])
    everyone = ids(*(people[k] for k in ("owner", "admin", "admin2", "member", "member2")), fresh)
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "member_added", "actor_id": member.id, "user_ids": [fresh.id]}
    assert to == everyone
    [(frame, to)] = frames(capture, "group")
    assert frame == {"type": "group", "group_id": group.id, "conversation_id": group.conversation_id,
                     "event": "member_added", "actor_id": member.id, "seq": message["seq"], "user_ids": [fresh.id]}
    assert to == everyone


def test_member_removed_is_told_and_nothing_more(cast, capture):
    people = cast()
    group, owner, gone = people["group"], people["owner"], people["admin"]
    capture.clear()
    members.check_remove_member(owner.id, group.id, gone.id)
    remaining = ids(*(people[k] for k in ("owner", "admin2", "member", "member2")))
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "member_removed", "actor_id": owner.id, "user_id": gone.id}
    assert to == remaining  # the removed member does not get the message
    [(frame, to)] = frames(capture, "group")
    assert frame["event"] == "member_removed" and frame["user_id"] == gone.id and frame["actor_id"] == owner.id
    assert to == remaining | {gone.id}
    assert [f for f, r in capture if gone.id in r] == [frame]


def test_member_left(cast, capture):
    people = cast()
    group, leaver = people["group"], people["member2"]
    capture.clear()
    members.check_remove_member(leaver.id, group.id, leaver.id)
    remaining = ids(*(people[k] for k in ("owner", "admin", "admin2", "member")))
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "member_left", "actor_id": leaver.id, "user_id": leaver.id}
    assert to == remaining
    [(frame, to)] = frames(capture, "group")
    assert (frame["event"], frame["user_id"], frame["actor_id"]) == ("member_removed", leaver.id, leaver.id)
    assert to == remaining | {leaver.id}


def test_role_changed_and_transfer(cast, capture):
    people = cast()
    group, owner, member = people["group"], people["owner"], people["member"]
    everyone = ids(*(people[k] for k in ("owner", "admin", "admin2", "member", "member2")))
    capture.clear()
    manage.check_set_role(owner.id, group.id, member.id, "admin")
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "role_changed", "actor_id": owner.id, "user_id": member.id,
                                  "role": "admin"}
    assert to == everyone
    [(frame, to)] = frames(capture, "group")
    assert (frame["event"], frame["user_id"], frame["role"], to) == ("role_changed", member.id, "admin", everyone)
    capture.clear()
    manage.check_transfer(owner.id, group.id, member.id)
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "owner_transferred", "actor_id": owner.id, "user_id": member.id}
    assert to == everyone
    assert [((f["event"], f["user_id"], f["role"], f["seq"]), r) for f, r in frames(capture, "group")] == [
        (("role_changed", member.id, "owner", message["seq"]), everyone),
        (("role_changed", owner.id, "admin", message["seq"]), everyone)]


def test_updated_and_dissolved(cast, capture):
    people = cast()
    group, admin, owner = people["group"], people["admin"], people["owner"]
    everyone = ids(*(people[k] for k in ("owner", "admin", "admin2", "member", "member2")))
    capture.clear()
    manage.check_update_group(admin.id, group.id, {"name": "new name", "announcement": "  hi  "})
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "group_updated", "actor_id": admin.id,
                                  "fields": {"name": "new name", "announcement": "hi"}}
    [(frame, to)] = frames(capture, "group")
    assert (frame["event"], frame["fields"], to) == ("updated", {"name": "new name", "announcement": "hi"}, everyone)
    capture.clear()
    manage.check_update_group(admin.id, group.id, {"name": "new name"})
    assert capture == []  # nothing changed, nothing told
    manage.check_dissolve(owner.id, group.id)
    message, to = pushed_message(capture)
    assert message["content"] == {"event": "group_dissolved", "actor_id": owner.id} and to == everyone
    [(frame, to)] = frames(capture, "group")
    assert (frame["event"], to) == ("dissolved", everyone)
