"""The account-safety tests of tests/accounts/test_safety.py on the embedded default (SQLite,
counters in this process, the in-memory channel layer)."""

from tests.accounts.test_safety import *  # noqa: F403 (pytest collects the imported tests)
from tests.accounts.test_safety import pytestmark  # noqa: F401
