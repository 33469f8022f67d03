"""What the WebSocket server stack costs per frame and per socket that this product does not need,
removed at start-up (imsite/asgi.py). Written for the versions in PATCHED_FOR (pinned in
requirements.txt); tests/ops/test_stack_patches.py fails when an upgrade changes them, and on any
other version `apply` leaves the stack as it is.

- autobahn builds the arguments of its debug log lines even when debug logging is off: for every
  frame written, `sendData` resolves and colours its own qualified name (`hltype`, `hlval`:
  `inspect` and `click.style`), and every new connection pretty-prints its whole configuration
  (`pformat` of some 40 attributes). The patch hands the log call objects that format themselves
  only when a line is really written.
- daphne pings every socket that sent nothing for 20 s (and autobahn then arms a 30 s pong timer),
  on top of the application's heartbeat (docs/api.md section 5: the client pings every 25 s, a
  socket silent for IM_HEARTBEAT_TIMEOUT is closed with 4408). For 10,000 idle sockets that is
  some 500 pings, pongs and timers a second for nothing; the patch keeps daphne's timeout checks
  without its pings.
- daphne's server walks every connection every second to reap finished applications
  (`application_checker`) and every two seconds to check timeouts (`timeout_checker`): with
  10,000 sockets some 45 ms each on a busy 2-core machine, the event loop stopped for all of it.
  The patch visits only the connections that need it: those whose application finished or whose
  socket closed (the same reaping, the same kill after `application_close_timeout`), and for the
  timeouts every connection except open WebSockets younger than `websocket_timeout`.

Not importing Django: the benchmark's bare relay (bench/channels_relay) applies the same patches.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PATCHED_FOR = {"autobahn": "26.11.1", "daphne": "4.2.3"}
log = logging.getLogger(__name__)
_applied = False


class Deferred:
    """`fn(*args)` as text, computed only if a log line formats it."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn, self.args = fn, args

    def __str__(self) -> str:
        return str(self.fn(*self.args))

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def deferring(fn: Callable[..., Any]) -> Callable[..., Deferred]:
    def deferred(*args: Any) -> Deferred:
        return Deferred(fn, *args)

    deferred.original = fn  # type: ignore[attr-defined]
    return deferred


def _quiet_autobahn_debug() -> None:
    from autobahn.websocket import protocol

    for name in ("pformat", "hltype", "hlval"):
        setattr(protocol, name, deferring(getattr(protocol, name)))


def _check_timeouts_without_pings(self: Any) -> None:
    """daphne.ws_protocol.WebSocketProtocol.check_timeouts (4.2.3) minus the ping."""
    if self.duration() > self.server.websocket_timeout and self.server.websocket_timeout >= 0:
        self.serverClose()
    if self.state == self.STATE_CONNECTING and self.duration() > self.server.websocket_connect_timeout:
        self.serverReject()


def _no_daphne_pings() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    WebSocketProtocol.check_timeouts = _check_timeouts_without_pings


def _due(server: Any) -> set[Any]:
    """The connections the next application check visits."""
    if not hasattr(server, "_im_due"):
        server._im_due = set()
    return server._im_due


def _lighter_server_sweeps() -> None:
    from daphne import server as daphne_server
    from daphne.ws_protocol import WebSocketProtocol

    Server = daphne_server.Server
    create_application = Server.create_application
    protocol_disconnected = Server.protocol_disconnected

    def create_application_watched(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        queue = create_application(self, protocol, scope)
        instance = self.connections.get(protocol, {}).get("application_instance")
        if instance is not None:
            instance.add_done_callback(lambda _: _due(self).add(protocol))
        return queue

    def protocol_disconnected_watched(self: Any, protocol: Any) -> None:
        protocol_disconnected(self, protocol)
        _due(self).add(protocol)

    def application_checker(self: Any) -> None:
        """daphne.server.Server.application_checker (4.2.3) over the connections that changed."""
        due, self._im_due = _due(self), set()
        for protocol in due:
            details = self.connections.get(protocol)
            if details is None:
                continue
            disconnected = details.get("disconnected", None)
            application_instance = details.get("application_instance", None)
            if disconnected and time.time() - disconnected > self.application_close_timeout:
                if application_instance and not application_instance.done():
                    daphne_server.logger.warning(
                        "Application instance %r for connection %s took too long to shut down and was killed.",
                        application_instance,
                        repr(protocol),
                    )
                    application_instance.cancel()
            if application_instance and application_instance.done():
                try:
                    exception = application_instance.exception()
                except (CancelledError, asyncio.CancelledError):
                    pass
                else:
                    if exception:
                        if isinstance(exception, KeyboardInterrupt):
                            self.stop()
                        else:
                            daphne_server.logger.error(
                                "Exception inside application: %s", exception, exc_info=exception
                            )
                            if not disconnected:
                                protocol.handle_exception(exception)
                del self.connections[protocol]["application_instance"]
                application_instance = None
            if not application_instance and disconnected:
                del self.connections[protocol]
            elif disconnected:  # the application is still closing: look again in a second
                self._im_due.add(protocol)
        daphne_server.reactor.callLater(1, self.application_checker)

    def timeout_checker(self: Any) -> None:
        """daphne.server.Server.timeout_checker (4.2.3) minus open WebSockets that cannot time out yet."""
        now, limit, open_state = time.time(), self.websocket_timeout, WebSocketProtocol.STATE_OPEN
        for protocol in list(self.connections):
            if (
                type(protocol) is WebSocketProtocol
                and protocol.state == open_state
                and (limit < 0 or now - protocol.socket_opened <= limit)
            ):
                continue
            protocol.check_timeouts()
        daphne_server.reactor.callLater(2, self.timeout_checker)

    Server.create_application = create_application_watched
    Server.protocol_disconnected = protocol_disconnected_watched
    Server.application_checker = application_checker
    Server.timeout_checker = timeout_checker


def installed() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in PATCHED_FOR:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def apply() -> None:
    """Apply every patch once; none if a patched package is not at the version it was written for."""
    global _applied
    if _applied:
        return
    found = installed()
    if found != PATCHED_FOR:
        log.warning("server stack patches not applied: written for %s, installed %s", PATCHED_FOR, found)
        return
    _quiet_autobahn_debug()
    _no_daphne_pings()
    _lighter_server_sweeps()
    _applied = True
