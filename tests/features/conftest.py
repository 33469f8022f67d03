"""Fixtures of the section 9/10 tests: direct conversations and groups on both shards, sending."""

from tests.conversations.conftest import direct, send  # noqa: F401  (shared fixtures)
from tests.groups.conftest import make_group  # noqa: F401
