"""Socket-test fixtures: this test process counts as a live connection node, and helpers to read
how a socket was closed."""

import asyncio

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from imsite.realtime import node
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def live_node(_clean_realtime_state) -> None:
    """Register this process in the node registry right after the state was flushed, as daphne's
    heartbeat does at start-up: presence only counts devices on live nodes."""
    node.register_now()


async def close_code(socket, timeout: float = 3) -> int:
    """The code of the socket's close, skipping frames sent before it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await socket.c.receive_output(max(0.01, deadline - loop.time()))
        if output["type"] == "websocket.close":
            return output["code"]


async def still_open(socket) -> bool:
    """The connection answers a ping."""
    await socket.send({"type": "ping"})
    return (await socket.recv_type("pong"))["type"] == "pong"


def session_cookie(user: User) -> bytes:
    """A browser's session cookie for `user` (logged in through Django's test client)."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
