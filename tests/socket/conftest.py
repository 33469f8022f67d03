"""Socket-test helpers: how a socket was closed, whether it is still open, a session cookie."""

import asyncio

from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD


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
