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

Not importing Django: the benchmark's bare relay (bench/channels_relay) applies the same patches.
"""

import logging
from collections.abc import Callable
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
    _applied = True
