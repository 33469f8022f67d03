"""imsite/stack_patches.py: the server stack's avoidable per-frame and per-socket work stays removed.

These fail when an upgrade of daphne or autobahn changes what the patches were written for: then
re-measure (bench/run.py) and rewrite or drop each patch for the new version.
"""

import asyncio
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from autobahn.websocket import protocol as autobahn_protocol
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet.testing import StringTransport

from imsite import stack_patches

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def patched() -> None:
    stack_patches.apply()


def test_the_installed_and_pinned_versions_are_the_patched_ones():
    assert stack_patches.installed() == stack_patches.PATCHED_FOR
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / "requirements.txt").read_text(), re.M))
    for package, version in stack_patches.PATCHED_FOR.items():
        assert pins.get(package) == version, f"requirements.txt pins {package}=={pins.get(package)}"


class Formatted:
    """A value whose text is counted: a debug argument that is formatted shows up here."""

    count = 0

    def __repr__(self) -> str:
        Formatted.count += 1
        return "formatted"

    __str__ = __repr__


def open_protocol() -> WebSocketProtocol:
    factory = WebSocketFactory(SimpleNamespace())
    protocol = factory.buildProtocol(None)
    protocol.versions = Formatted()  # one of the configuration attributes autobahn dumps on connect
    protocol.makeConnection(StringTransport())
    protocol.client_addr, protocol.path = ["127.0.0.1", 50000], b"/ws"  # as daphne's onConnect sets them
    return protocol


def test_a_connection_and_its_frames_format_no_debug_arguments():
    Formatted.count = 0
    protocol = open_protocol()
    protocol.state, protocol.websocket_version = protocol.STATE_OPEN, 13
    protocol.peer = Formatted()  # formatted for the per-write debug line before the patch
    for _ in range(3):
        protocol.sendMessage(b'{"type": "ack"}')
    assert Formatted.count == 0
    assert protocol.transport.value().count(b'{"type": "ack"}') == 3


def test_a_debug_line_that_is_written_still_reads_the_same():
    values = [("versions", [13], "WebSocketServerFactory")]
    assert str(autobahn_protocol.pformat(values)) == autobahn_protocol.pformat.original(values)
    assert f"{autobahn_protocol.hlval(42)}" == autobahn_protocol.hlval.original(42)


def daphne_protocol(silent_for: float, websocket_timeout: float = -1) -> tuple[WebSocketProtocol, list[str]]:
    protocol = open_protocol()
    calls: list[str] = []
    protocol.server = SimpleNamespace(
        websocket_timeout=websocket_timeout, websocket_connect_timeout=5, ping_interval=20
    )
    protocol.state = protocol.STATE_OPEN
    protocol.socket_opened = protocol.last_ping = time.time() - silent_for
    protocol._sendAutoPing = lambda: calls.append("ping")
    protocol.serverClose = lambda code=None: calls.append("close")
    return protocol, calls


def test_daphne_leaves_the_heartbeat_to_the_application():
    protocol, calls = daphne_protocol(silent_for=600)
    protocol.check_timeouts()
    assert calls == []


def test_daphne_still_closes_sockets_past_its_websocket_timeout():
    protocol, calls = daphne_protocol(silent_for=600, websocket_timeout=60)
    protocol.check_timeouts()
    assert calls == ["close"]


async def application(scope, receive, send) -> None:
    if scope.get("hang"):
        await asyncio.Event().wait()


def daphne_server(**options) -> Server:
    server = Server(application, endpoints=["tcp:port=0:interface=127.0.0.1"], signal_handlers=False, **options)
    server.connections = {}  # as Server.run makes it
    return server


def test_daphne_still_reaps_finished_applications_and_closed_connections():
    async def scenario() -> None:
        server = daphne_server(application_close_timeout=10)
        done, closed, hanging = open_protocol(), open_protocol(), open_protocol()
        for protocol, scope in ((done, {}), (closed, {}), (hanging, {"hang": True})):
            server.protocol_connected(protocol)
            server.create_application(protocol, {"type": "websocket", **scope})
        await asyncio.sleep(0.01)  # the two finishing applications run to their end
        server.protocol_disconnected(closed)
        server.application_checker()
        assert "application_instance" not in server.connections[done]  # reaped, socket still open
        assert closed not in server.connections
        assert "application_instance" in server.connections[hanging]

        server.protocol_disconnected(hanging)
        server.connections[hanging]["disconnected"] -= 60  # past application_close_timeout
        server.application_checker()  # cancels it
        await asyncio.sleep(0.01)
        server.application_checker()
        assert server.connections == {done: server.connections[done]}

    asyncio.run(scenario())


def test_daphne_checks_timeouts_of_all_but_young_open_websockets():
    server = daphne_server(websocket_timeout=60)
    checked: list[str] = []
    young, old = daphne_protocol(silent_for=5)[0], daphne_protocol(silent_for=600)[0]
    for name, protocol in (("young", young), ("old", old)):
        protocol.server = server
        protocol.check_timeouts = lambda name=name: checked.append(name)
        server.protocol_connected(protocol)
    server.timeout_checker()
    assert checked == ["old"]
