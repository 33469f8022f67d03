"""Exact /sync tokens on the embedded default (SQLite: a counter that writers take in turn). The
concurrent-writers test runs on PostgreSQL only: SQLite lets one writer at a time."""

from tests.conftest import ALL_DBS
from tests.conversations.conftest import direct, send  # noqa: F401 (fixtures)
from tests.conversations.test_sync import (  # noqa: F401 (pytest collects the imported tests)
    test_every_writer_of_a_users_state_is_seen,
    test_time_tokens_of_the_previous_release_still_work,
    test_tokens_that_this_server_did_not_issue_are_refused,
)

pytestmark = ALL_DBS
