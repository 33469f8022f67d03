"""Accounts-test fixtures: the node registry fixture of the socket tests (friend_request frames go
live only to users connected to a live node)."""

from tests.socket.conftest import live_node  # noqa: F401  (autouse)
