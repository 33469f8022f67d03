"""The input-reading tests of tests/inputs/test_inputs.py through REST and the socket on the
embedded default (SQLite, in-process state)."""

from tests.inputs.test_inputs import (  # noqa: F401 (pytest collects the imported tests)
    test_paths_and_query_strings,
    test_rest_bodies_refuse_what_is_not_an_id,
    test_socket_frames,
)
