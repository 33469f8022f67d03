"""Garbage collection on a connection node.

CPython's full (generation 2) collection walks every object the collector tracks. A node holding
10,000 sockets tracks about 1.5 million (daphne's protocol, the consumer, its queues and tasks:
some 150 per socket), so each full collection stops the event loop for most of a second. One runs
once the objects promoted since the last one reach a quarter of the old ones, and with the
default thresholds (700, 10, 10) the batches' short-lived objects (in flight across a young
collection or two) were promoted fast enough for one every few seconds under load. A larger
young generation lets them die young: fewer promotions, fewer full collections. Every cycle is
still collected (unlike gc.freeze, which would keep closed sockets' and finished request threads'
cycles, database connections included, until thawed).
"""

import gc

THRESHOLDS = (50_000, 20, 10)  # young collections every 50,000 net allocations (default 700)


def apply() -> None:
    """At start-up (imsite/asgi.py), before the server accepts anything."""
    gc.set_threshold(*THRESHOLDS)
    gc.collect()
    gc.freeze()
