"""tests/skips.py: in CI a skipped test fails the run unless it is on the allow-list; outside CI a
skip is only reported. Each case is a real pytest run over a small test file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = '''
import pytest

def test_runs():
    pass

def test_allowed():
    pytest.skip("allowed in CI")

def test_forgotten():
    pytest.skip("tool missing")
'''


def _pytest(tmp_path: Path, ci: bool, *select: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_some.py").write_text(TESTS)
    (tmp_path / "conftest.py").write_text(
        "from tests import skips\n"
        "from tests.skips import *  # noqa: F403\n"
        "skips.ALLOWED_IN_CI['test_some.py::test_allowed'] = 'the case of this test'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(ROOT)}
    if ci:
        env["CI"] = "true"
    argv = [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider", "-rs", "--rootdir",
            str(tmp_path), "-c", os.devnull, *(f"test_some.py::{name}" for name in select)]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_a_skip_not_on_the_allow_list_fails_a_ci_run(tmp_path):
    run = _pytest(tmp_path, True)
    assert run.returncode == 1, run.stdout
    assert "1 passed, 2 skipped" in run.stdout  # the summary's counts stay as they were
    section = run.stdout.split("skipped in CI and not allowed", 1)[1]
    assert "test_some.py::test_forgotten" in section and "test_allowed" not in section


def test_skips_on_the_allow_list_pass_a_ci_run(tmp_path):
    run = _pytest(tmp_path, True, "test_runs", "test_allowed")
    assert run.returncode == 0, run.stdout
    assert "SKIPPED [1] test_some.py:8: allowed in CI" in run.stdout


def test_outside_ci_skips_are_reported_only(tmp_path):
    run = _pytest(tmp_path, False)
    assert run.returncode == 0, run.stdout
    assert "SKIPPED [1] test_some.py:11: tool missing" in run.stdout
    assert "not allowed" not in run.stdout
