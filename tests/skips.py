"""Skipped tests, reported and, in CI, refused: bin/test installs everything the suite needs, so in
CI (the environment variable CI set, as .ci/run does) a skip means a test silently stopped testing,
and the run fails unless the test is on the allow-list below with the reason it may skip there.
tests/conftest.py registers these hooks; `-rs` (bin/test passes it) lists every skip with its reason.
"""

from __future__ import annotations

import os

import pytest

# Node id prefix -> why it may skip in CI. Keep it short: every entry is a test CI does not run.
# None today: nginx, Chromium, PostgreSQL's server binaries and Redis are all installed by bin/test.
ALLOWED_IN_CI: dict[str, str] = {}

_skipped: list[str] = []
_refused: list[str] = []


def _note(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("CI"):
        return
    _refused[:] = [nodeid for nodeid in _skipped if not nodeid.startswith(tuple(ALLOWED_IN_CI))]
    if _refused and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _refused:
        terminalreporter.section("skipped in CI and not allowed (tests/skips.py)", red=True)
        for nodeid in _refused:
            terminalreporter.write_line(nodeid)
