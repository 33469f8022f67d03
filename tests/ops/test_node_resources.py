"""The node's garbage-collector policy (imsite/gc_policy.py) and server stack patches
(imsite/stack_patches.py) are in force once the ASGI application is loaded, as daphne loads it."""

import gc

from imsite import gc_policy


def test_the_node_collects_garbage_with_a_large_young_generation():
    import imsite.asgi  # noqa: F401  (applies the policy)

    assert gc.get_threshold() == gc_policy.THRESHOLDS


def test_the_objects_of_start_up_are_out_of_the_collectors_walk():
    import imsite.asgi  # noqa: F401  (applies the policy)

    assert gc.get_freeze_count() > 10_000  # modules, classes, settings: the node's start-up


def test_the_server_stack_is_patched_once_the_application_is_loaded():
    from daphne.ws_protocol import WebSocketProtocol

    import imsite.asgi  # noqa: F401  (applies the patches)
    from imsite import stack_patches

    assert WebSocketProtocol.check_timeouts is stack_patches._check_timeouts_without_pings
