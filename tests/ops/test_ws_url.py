"""`ws_url` in token answers: the live node with the fewest connections (docs/api.md section 7)."""

import time

import pytest
from channels.db import database_sync_to_async as db
from django.conf import settings
from rest_framework.test import APIClient

from imsite.realtime import node
from imsite.realtime.registry import NODE_TTL, NODES_KEY
from imsite.realtime.registry import registry as node_registry
from imsite.realtime.store import redis_client
from tests.conftest import ALL_DBS, PASSWORD


@pytest.fixture
def registry(monkeypatch):
    """The node registry with this test process out of it: its heartbeat thread is paused, so only
    the nodes a test registers are there."""
    monkeypatch.setattr(node, "register_now", lambda: None)
    nodes = node_registry()
    nodes.unregister_node(settings.IM_NODE_NAME)
    return nodes


def login_ws_url(username: str) -> str:
    response = APIClient().post("/api/v1/auth/token", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()["ws_url"]


def make_stale(name: str) -> None:
    """As if the node stopped refreshing longer ago than the registry keeps it."""
    redis_client().zadd(NODES_KEY, {name: time.time() - NODE_TTL - 1})


@pytest.mark.django_db(databases="__all__")
def test_the_live_node_with_the_fewest_connections(registry, make_user):
    make_user("alice")
    assert login_ws_url("alice") == settings.IM_PUBLIC_WS_URL  # no node registered: this one
    registry.register_node("node-a", "ws://a.example/ws", 7)
    assert login_ws_url("alice") == "ws://a.example/ws"  # one node: that node
    registry.register_node("node-b", "ws://b.example/ws", 3)
    assert login_ws_url("alice") == "ws://b.example/ws"
    registry.register_node("node-c", "ws://c.example/ws", 0)
    make_stale("node-c")  # the emptiest, but it stopped refreshing 31 s ago
    assert login_ws_url("alice") == "ws://b.example/ws"
    registry.register_node("node-b", "ws://b.example/ws", 9)  # b filled up
    assert login_ws_url("alice") == "ws://a.example/ws"
    registry.register_node("node-c", "ws://c.example/ws", 0)  # c is back
    assert login_ws_url("alice") == "ws://c.example/ws"


@pytest.mark.django_db(databases="__all__")
def test_refresh_answers_ws_url_too(registry, make_user):
    make_user("alice")
    refresh = APIClient().post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD},
                               format="json").json()["refresh_token"]
    registry.register_node("node-a", "ws://a.example/ws", 1)
    response = APIClient().post("/api/v1/auth/refresh", {"refresh_token": refresh}, format="json")
    assert response.json()["ws_url"] == "ws://a.example/ws"


@ALL_DBS
async def test_a_node_registers_its_url_and_connection_count(make_user, connect):
    def me() -> dict:
        node.register_now()
        [entry] = [n for n in node_registry().live_nodes() if n["name"] == settings.IM_NODE_NAME]
        return entry

    idle = await db(me)()
    assert idle["url"] == settings.IM_PUBLIC_WS_URL
    sock = await connect(await db(make_user)())
    assert (await db(me)())["connections"] == idle["connections"] + 1
    await sock.close()
    assert (await db(me)())["connections"] == idle["connections"]
