"""GET /api/v1/messages/search: substring, case-insensitive, Latin and CJK; only what the caller
may see; across both shards, newest first, paged; hostile queries never fail; the indexes are
used on PostgreSQL."""

import pytest
from django.db import connections

from chat.actions.recall import check_recall
from chat.actions.search import SearchGrams, query_grams
from chat.models import Message
from conversations.models import Conversation, Membership
from imsite.shards import shard_alias
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def _texts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["content"]["text"] for m in response.json()["results"]]


@pytest.fixture
def world(make_user, direct, send):
    """alice talks to bob (shard 0) and carol (shard 1); eve and mallory talk alone."""
    alice, eve, mallory = make_user("alice"), make_user("eve"), make_user("mallory")
    bob_chat, carol_chat = direct(alice, shard=0), direct(alice, shard=1)
    bob = Membership.objects.get(conversation_id=bob_chat, user=alice).peer
    carol = Membership.objects.get(conversation_id=carol_chat, user=alice).peer
    secret = direct(eve, mallory)
    for user, cid, text in [(bob, bob_chat, "今天天气很好"), (alice, carol_chat, "天气预报说明天下雨"),
                            (carol, carol_chat, "Hello World"), (bob, bob_chat, "100% sure_thing"),
                            (eve, secret, "天气 secret hello")]:
        send(user, cid, text)
    return {"alice": alice, "bob": bob, "carol": carol, "eve": eve, "bob_chat": bob_chat, "carol_chat": carol_chat}


def test_cjk_and_latin_substrings_case_insensitive_across_shards(world, client_for):
    client = client_for(world["alice"])
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == ["天气预报说明天下雨", "今天天气很好"]
    assert _texts(client.get("/api/v1/messages/search", {"q": "天"})) == ["天气预报说明天下雨", "今天天气很好"]
    assert _texts(client.get("/api/v1/messages/search", {"q": "HELLO wor"})) == ["Hello World"]
    assert _texts(client.get("/api/v1/messages/search", {"q": "lo"})) == ["Hello World"]
    only = client.get("/api/v1/messages/search", {"q": "天气", "conversation_id": world["bob_chat"]})
    assert _texts(only) == ["今天天气很好"]
    # the caller's own direct message carries its status, like in history
    mine = client.get("/api/v1/messages/search", {"q": "预报"}).json()["results"][0]
    assert mine["status"] == "read" and mine["sender_id"] == world["alice"].id  # carol answered after it
    assert "status" not in client.get("/api/v1/messages/search", {"q": "今天"}).json()["results"][0]


def test_not_a_member_and_bad_queries(world, client_for):
    client = client_for(world["alice"])
    assert _texts(client.get("/api/v1/messages/search", {"q": "secret"})) == []
    other = Conversation.objects.exclude(id__in=[world["bob_chat"], world["carol_chat"]]).get().id
    assert client.get("/api/v1/messages/search", {"q": "x", "conversation_id": other}).status_code == 404
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x", "cursor": "nope"}, {"q": "x", "limit": "0"}):
        response = client.get("/api/v1/messages/search", params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


HOSTILE = [
    ("%", ["100% sure_thing"]), ("_", ["100% sure_thing"]), ("0% s", ["100% sure_thing"]), ("e_t", ["100% sure_thing"]),
    ("'", []), ("' OR 1=1 --", []), ("\\", []), ("a" * 1000, []), ("天" * 1000, []), ("%%%%", []), ("a\x00b", []),
    ("x" * 6000, []),
]


def test_wildcards_quotes_and_long_queries_are_literal(world, client_for):
    client = client_for(world["alice"])
    for q, expected in HOSTILE:
        assert _texts(client.get("/api/v1/messages/search", {"q": q})) == expected, q


def test_clear_point_recall_and_leaving(world, send, client_for):
    alice, bob, client = world["alice"], world["bob"], client_for(world["alice"])
    assert client.delete(f"/api/v1/conversations/{world['bob_chat']}").status_code == 204
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == ["天气预报说明天下雨"]
    later = send(bob, world["bob_chat"], "天气又好了")
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == ["天气又好了", "天气预报说明天下雨"]
    check_recall(bob.id, world["bob_chat"], str(later.msg_id))
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == ["天气预报说明天下雨"]
    # bob never cleared: he still finds the old one
    assert _texts(client_for(bob).get("/api/v1/messages/search", {"q": "今天"})) == ["今天天气很好"]
    # a member who left sees up to where they left, and an inactive membership nothing
    Membership.objects.filter(conversation_id=world["carol_chat"], user=alice).update(active=False, left_seq=1)
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == []


def test_conversations_seen_whole_and_in_part_on_one_shard(world, direct, send, client_for):
    """On one shard, a conversation seen from a join point next to one seen whole: each keeps its
    own range (PostgreSQL sends them to the shard in two forms)."""
    alice, bob = world["alice"], world["bob"]
    dave_chat = direct(alice, shard=0)
    dave = Membership.objects.get(conversation_id=dave_chat, user=alice).peer
    send(dave, dave_chat, "天气 whole")
    send(bob, world["bob_chat"], "天气 after the join point")
    Membership.objects.filter(conversation_id=world["bob_chat"], user=alice).update(join_seq=2)
    client = client_for(alice)
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气"})) == [
        "天气 after the join point", "天气 whole", "天气预报说明天下雨"]
    assert _texts(client.get("/api/v1/messages/search", {"q": "天气", "conversation_id": world["bob_chat"]})) == [
        "天气 after the join point"]


def test_pages_merge_both_shards_newest_first(world, send, client_for):
    alice, bob, carol = world["alice"], world["bob"], world["carol"]
    sent = []
    for i in range(7):
        user, cid = (bob, world["bob_chat"]) if i % 2 else (carol, world["carol_chat"])
        sent.append(send(user, cid, f"page test {i}"))
    client = client_for(alice)
    seen, cursor = [], None
    while True:
        params = {"q": "PAGE TEST", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/messages/search", params).json()
        assert len(body["results"]) <= 3
        seen += [m["msg_id"] for m in body["results"]]
        if not (cursor := body["next"]):
            break
    assert seen == [str(m.msg_id) for m in reversed(sent)]


def test_query_grams_match_the_sql_function():
    with connections[shard_alias(0)].cursor() as cursor:
        for text in ("今天天气很好", "a天b", "héllo wörld", "plain ascii", "😀x", "天"):
            cursor.execute("SELECT im_search_grams(%s)", [text])
            stored = set(cursor.fetchone()[0])
            for start in range(len(text)):
                for end in range(start + 1, len(text) + 1):
                    assert set(query_grams(text[start:end])) <= stored, (text, start, end)


@pytest.mark.parametrize("alias", ["shard0", "shard1"])
def test_postgres_uses_the_indexes(world, alias):
    """EXPLAIN with sequential scans off: if a plan can use an index, this shows it (the planner's
    choice on a real table is measured by bench/listsearch.py)."""
    queryset = Message.objects.using(alias).filter(search_text__contains="天气").alias(
        grams=SearchGrams("search_text")).filter(grams__contains=query_grams("天气"))
    latin = Message.objects.using(alias).filter(search_text__contains="hello")
    with connections[alias].cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            assert "message_search_grams" in queryset.explain()
            assert "message_search_trgm" in latin.explain()
        finally:
            cursor.execute("RESET enable_seqscan")
