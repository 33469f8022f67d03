from tests.conversations.conftest import direct, send  # noqa: F401  (shared fixtures)
