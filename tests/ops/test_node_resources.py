"""The node's garbage-collector policy (imsite/gc_policy.py) is in force once the ASGI
application is loaded, as daphne loads it."""

import gc

from imsite import gc_policy


def test_the_node_collects_garbage_with_a_large_young_generation():
    import imsite.asgi  # noqa: F401  (applies the policy)

    assert gc.get_threshold() == gc_policy.THRESHOLDS
