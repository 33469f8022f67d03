"""Real processes for end-to-end tests: daphne nodes, a Celery worker and Celery beat, each a
subprocess in its own session, pointed at the SAME databases pytest-django created and the same
Redis as the test process, so the test can set up users in-process and talk to the product over
real sockets. Every process is killed on teardown, whatever happened.

    cluster = Cluster(tmp_path, IM_ACK_RETRY_DELAYS="1,2")
    a = cluster.daphne("a"); b = cluster.daphne("b"); cluster.worker(); cluster.beat()
    cluster.wait_ready()
    ...
    cluster.kill("worker"); cluster.restart("worker")
    cluster.stop_all()
"""

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

READY_TIMEOUT = 60.0
_snowflake_ids = itertools.count(900)  # pinned node ids, far from the ones leased from Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(alias: str) -> str:
    """The URL of a database as pytest-django set it up (the test_ name)."""
    db = settings.DATABASES[alias]
    auth = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def product_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url("default"),
        "IM_MESSAGE_SHARDS": ",".join(database_url(alias) for alias in settings.MESSAGE_SHARDS),
        "REDIS_URL": settings.REDIS_URL,
        "IM_DATA_DIR": str(data_dir),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    log_offset: int = 0  # where this run's output starts in the log
    popen: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


class Cluster:
    def __init__(self, workdir: Path, **settings_env: str):
        self.workdir = workdir
        self.env = product_env(workdir / "data", **settings_env)
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, Proc] = {}

    # --- starting -----------------------------------------------------------------------------
    def daphne(self, name: str) -> Proc:
        port = free_port()
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "imsite.asgi:application"]
        return self._start(Proc(name, argv, self._env(IM_NODE_NAME=f"e2e-{name}"), self._log(name), port))

    def worker(self, name: str = "worker") -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "imsite", "worker", "--concurrency", "1",
                "--loglevel", "INFO", "--hostname", f"{name}@e2e"]
        return self._start(Proc(name, argv, self._env(), self._log(name)))

    def beat(self, name: str = "beat") -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "imsite", "beat", "--loglevel", "INFO",
                "--schedule", str(self.workdir / "beat-schedule")]
        return self._start(Proc(name, argv, self._env(), self._log(name)))

    def _env(self, **extra: str) -> dict[str, str]:
        return dict(self.env, IM_SNOWFLAKE_NODE_ID=str(next(_snowflake_ids)), **extra)

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _start(self, proc: Proc) -> Proc:
        proc.log_offset = proc.log.stat().st_size if proc.log.exists() else 0
        with proc.log.open("ab") as log:
            proc.popen = subprocess.Popen(proc.argv, env=proc.env, cwd=settings.BASE_DIR, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        self.procs[proc.name] = proc
        return proc

    def restart(self, name: str) -> Proc:
        """Start a stopped process again: same command, port and node name."""
        proc = self.procs[name]
        assert not proc.alive(), f"{name} is still running"
        self._start(proc)
        self.wait_ready(name)
        return proc

    # --- readiness ----------------------------------------------------------------------------
    def wait_ready(self, *names: str, timeout: float = READY_TIMEOUT) -> None:
        """Daphne nodes: /readyz answers 200. Worker: its log says ready. Beat: it started."""
        deadline = time.monotonic() + timeout
        for name in names or list(self.procs):
            proc = self.procs[name]
            while not self._ready(proc):
                if not proc.alive():
                    raise RuntimeError(f"{name} exited ({proc.popen.returncode}):\n{proc.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready within {timeout:.0f}s:\n{proc.tail()}")
                time.sleep(0.1)

    @staticmethod
    def _ready(proc: Proc) -> bool:
        if proc.port is not None:
            try:
                with urllib.request.urlopen(f"{proc.url}/readyz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False
        with proc.log.open("rb") as log:
            log.seek(proc.log_offset)
            text = log.read().decode(errors="replace")
        return (" ready." if "worker" in proc.argv else "beat: Starting") in text

    # --- stopping -----------------------------------------------------------------------------
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process's whole session (a Celery worker's pool children too) and reap it."""
        proc = self.procs[name]
        if proc.popen is None or proc.popen.poll() is not None:
            return
        try:
            os.killpg(proc.popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            try:
                self.kill(name, signal.SIGTERM)
            except Exception:
                self.kill(name, signal.SIGKILL)

    def metric(self, name: str, metric: str) -> float:
        """The sum of a Prometheus metric's samples on a daphne node (labels ignored)."""
        with urllib.request.urlopen(f"{self.procs[name].url}/metrics", timeout=5) as response:
            text = response.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(metric) and line[len(metric):len(metric) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total
