"""bin/test and bin/run on a machine where something is missing: they ask apt-get for exactly the
missing packages (through sudo when not root), and say clearly when neither root nor sudo is there.

Nothing is installed: the scripts run from a copy of bin/ with a PATH of links to this machine's
tools minus the ones a case hides, and with an `apt-get` (and a `sudo`) that only write down what
they were asked. As the tool is still missing after that "install", the scripts stop there, before
any service, virtual environment or test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the scripts call before their install step; a case hides some of them.
TOOLS = ("bash", "env", "id", "python3", "ls", "sort", "tail", "mkdir", "cat", "dirname", "seq", "sleep",
         "psql", "pg_isready", "pg_ctlcluster", "redis-server", "redis-cli", "chromium", "msgfmt", "node")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"  # not this test's venv
RECORDER = '#!/bin/sh\necho "${0##*/} $*" >> "$IM_RECORD"\n'


class Machine:
    """A copy of bin/ and a PATH of this machine's tools, readable by an unprivileged user too."""

    def __init__(self, root: Path, hidden: set[str], sudo: bool) -> None:
        self.root, self.record = root, root / "record"
        (root / "repo").mkdir()
        shutil.copytree(ROOT / "bin", root / "repo" / "bin")
        for name in ("requirements.txt", "requirements-dev.txt"):
            shutil.copy(ROOT / name, root / "repo" / name)
        self.path = root / "path"
        self.path.mkdir()
        for tool in set(TOOLS) - hidden:
            found = shutil.which(tool, path=SYSTEM_PATH)
            assert found, f"{tool} is needed on this machine to build the fake PATH"
            (self.path / tool).symlink_to(found)
        self.script("apt-get", RECORDER)
        if sudo:
            self.script("sudo", RECORDER + 'exec "$@"\n')
        if "venv" in hidden:  # Debian's python3 without python3-venv: ensurepip is not there
            (self.path / "python3").unlink()
            real = shutil.which("python3", path=SYSTEM_PATH)
            self.script("python3", f'#!/bin/sh\ncase "$*" in *ensurepip*) exit 1;; esac\nexec {real} "$@"\n')
        self.record.touch()
        for path in (root, root / "repo"):
            path.chmod(0o777)
        self.record.chmod(0o666)

    def script(self, name: str, text: str) -> None:
        (self.path / name).write_text(text)
        (self.path / name).chmod(0o755)

    def run(self, command: str, as_root: bool) -> tuple[subprocess.CompletedProcess[str], list[str]]:
        env = {"PATH": str(self.path), "IM_RECORD": str(self.record), "HOME": str(self.root)}
        argv = [shutil.which("env", path=SYSTEM_PATH), "-i", *(f"{k}={v}" for k, v in env.items()),
                "bash", str(self.root / "repo" / "bin" / command)]
        if not as_root:
            argv = [shutil.which("runuser", path=SYSTEM_PATH), "-u", "nobody", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return done, self.record.read_text().splitlines()


@pytest.fixture
def machine() -> Iterator[Callable[..., Machine]]:
    if os.geteuid() != 0:
        pytest.skip("needs root: the cases switch to an unprivileged user with runuser")
    roots: list[Path] = []

    def make(hidden: set[str], sudo: bool = False) -> Machine:
        roots.append(Path(tempfile.mkdtemp(prefix="im-setup-")))
        return Machine(roots[-1], hidden, sudo)

    yield make
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def test_bin_test_as_root_installs_the_missing_packages_with_apt_get(machine):
    done, record = machine({"redis-server", "chromium", "node"}).run("test", as_root=True)
    assert record == ["apt-get update -qq",
                      "apt-get install -y -qq --no-install-recommends redis-server chromium nodejs"]
    assert "bin/test: installing redis-server chromium nodejs with apt-get" in done.stderr
    # The fake installed nothing, so the script stops right after, before any service or test.
    assert done.returncode == 1 and "apt-get installed redis-server, yet redis-server is still missing" in done.stderr


def test_bin_test_without_root_installs_through_sudo(machine):
    done, record = machine({"msgfmt"}, sudo=True).run("test", as_root=False)
    assert record == [
        "sudo apt-get update -qq",
        "apt-get update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gettext",
        "apt-get install -y -qq --no-install-recommends gettext",
    ]
    assert done.returncode == 1 and "gettext" in done.stderr


def test_bin_test_without_root_or_sudo_says_so(machine):
    done, record = machine({"psql", "pg_isready"}).run("test", as_root=False)
    assert record == []
    assert done.returncode == 1
    assert "bin/test: error: 'apt-get update -qq' needs root: run bin/test as root, or install sudo" in done.stderr


def test_bin_run_installs_the_venv_module_and_gettext_for_a_fresh_checkout(machine):
    done, record = machine({"venv", "msgfmt"}).run("run", as_root=True)
    assert record == ["apt-get update -qq",
                      "apt-get install -y -qq --no-install-recommends gettext python3-venv"]
    assert done.returncode == 1 and "bin/run: installing gettext python3-venv with apt-get" in done.stderr


def test_where_everything_is_present_nothing_is_installed(machine):
    m = machine(set())
    check = (". bin/_system.sh; SYSTEM_NAME=bin/test; "
             "system_need redis-server:redis-server msgfmt:gettext venv:python3-venv; system_report")
    done = subprocess.run(["bash", "-c", check], cwd=m.root / "repo", capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{m.path}", "IM_RECORD": str(m.record)})
    assert done.returncode == 0, done.stderr
    assert m.record.read_text() == ""
    assert done.stderr == "bin/test: every package and service was already there; nothing installed or started\n"
