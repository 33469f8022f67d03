"""Shared fixtures: users, friend pairs, authenticated REST clients, socket clients over
WebsocketCommunicator, and event capture. The suite runs against PostgreSQL with two message
shards and Redis (bin/test sets the environment); tests/embedded runs the embedded default."""

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import OperationalError, connections
from rest_framework.test import APIClient

from accounts.actions import friends, tokens, users
from accounts.models import User
from imsite import events
from imsite.realtime import node
from imsite.realtime.claims import claims
from imsite.realtime.pending import pending
from imsite.realtime.presence import presence
from imsite.realtime.registry import registry
from imsite.realtime.store import redis_client
from imsite.realtime.windows import windows
from tests.skips import (  # noqa: F401  (skip report and CI check, see there)
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

_names = itertools.count()
PASSWORD = "correct horse battery staple"


def lose_realtime_state() -> None:
    """What a restart of an empty Redis (or of the embedded default's process state) leaves."""
    if settings.REDIS_URL:
        redis_client().flushdb()
    else:  # the memory forms are made anew on next use
        for store in (registry, presence, claims, windows, pending):
            store.cache_clear()


@pytest.fixture(autouse=True)
def _clean_realtime_state() -> Iterator[None]:
    """Each test starts with empty presence, reservations, buckets and pending acks."""
    lose_realtime_state()
    # This process is a live connection node (its heartbeat thread would re-register it within
    # seconds): register it now, so presence counts its sockets from the first moment.
    node.register_now()
    yield


# Real commits on every database (main and shards), as sockets and worker threads need.
ALL_DBS = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the session, end connections that worker threads left open, so the test databases
    can be dropped."""
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            if connection.vendor != "postgresql":
                continue
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            except OperationalError:
                pass  # this session never created that alias's test database


@pytest.fixture
def make_user() -> Callable[..., User]:
    def make(username: str | None = None, display_name: str = "") -> User:
        name = username or f"user{next(_names)}"
        return users.check_register(name, PASSWORD, display_name)

    return make


@pytest.fixture
def make_friends() -> Callable[[User, User], None]:
    def make(a: User, b: User) -> None:
        request, _ = friends.check_send_request(a, b.id)
        friends.do_accept(request)

    return make


@pytest.fixture
def token_for() -> Callable[[User], str]:
    def issue(user: User) -> str:
        return tokens.do_issue_tokens(user)["access_token"]

    return issue


@pytest.fixture
def client_for(token_for: Callable[[User], str]) -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return client

    return make


@pytest.fixture
def capture() -> Iterator[list[tuple[dict, list[int]]]]:
    with events.capture_events() as seen:
        yield seen


class Socket:
    """A test client on /ws: frames in and out as dicts. A batch-mode socket's arrays are read
    frame by frame (`arrays` counts the arrays received)."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.c = communicator
        self.hello: dict[str, Any] = {}
        self.initial: list[dict[str, Any]] = []
        self.buffered: list[dict[str, Any]] = []
        self.arrays = 0

    async def send(self, frame: dict[str, Any] | list[Any]) -> None:
        await self.c.send_json_to(frame)

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        if not self.buffered:
            received = await self.c.receive_json_from(timeout=timeout)
            if isinstance(received, list):
                self.arrays += 1
                self.buffered.extend(received)
            else:
                self.buffered.append(received)
        return self.buffered.pop(0)

    async def recv_type(self, kind: str, timeout: float = 3) -> dict[str, Any]:
        """The next frame of this type; frames of other types before it are dropped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind:
                return frame

    async def nothing(self, timeout: float = 0.3) -> bool:
        return not self.buffered and await self.c.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.c.disconnect()


@pytest_asyncio.fixture
async def connect(token_for: Callable[[User], str]):
    """`await connect(user)` opens an authenticated socket and reads through `synced`
    (frames before it are kept in `socket.initial`)."""
    from imsite.asgi import application

    opened: list[Socket] = []

    async def open_socket(user: User | None = None, *, token: str | None = None, path: str | None = None,
                          headers: list[tuple[bytes, bytes]] | None = None, expect_synced: bool = True,
                          batch: bool = False) -> Socket:
        if path is None:
            access = token or await asyncio.to_thread(token_for, user)
            path = f"/ws?access_token={access}" + ("&batch=1" if batch else "")
        communicator = WebsocketCommunicator(application, path, headers=headers or [])
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        socket = Socket(communicator)
        opened.append(socket)
        if expect_synced:
            socket.hello = await socket.recv(5)
            assert socket.hello["type"] == "hello", socket.hello
            while (frame := await socket.recv(5))["type"] != "synced":
                socket.initial.append(frame)
        return socket

    yield open_socket
    for socket in opened:
        with contextlib.suppress(Exception):
            await socket.close()
