"""bin/run-distributed end to end: PostgreSQL + two shards, Redis, two daphne nodes, a Celery worker
and beat started by honcho, both nodes ready, then everything stopped together.

Uses the machine's PostgreSQL and Redis (the script starts them when they are down) with
databases of its own, named after the suite's (`<DATABASE_URL's name>_disttest*`), the suite's own
Redis database and free loopback ports, so it disturbs neither a developer's running instance nor
another checkout's suite running beside it. No Django settings are touched in this process:
everything runs in the script.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SUITE_DB = urlsplit(os.environ.get("DATABASE_URL", "postgres:///im")).path.lstrip("/") or "im"
DBS = tuple(f"{_SUITE_DB}_disttest{suffix}" for suffix in ("", "_s0", "_s1"))
REDIS_DB = urlsplit(os.environ.get("REDIS_URL", "redis:///9")).path.lstrip("/") or "0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_run_distributed_starts_every_process_and_stops_them_together(tmp_path):
    for tool in ("psql", "pg_isready", "redis-server", "redis-cli"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed: the distributed mode needs PostgreSQL and Redis here")
    port1, port2 = _free_port(), _free_port()
    while port2 == port1:
        port2 = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": sys.prefix,  # this interpreter's environment, not another .venv
        "PYTHON": sys.executable,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DBS[0]}",
        "IM_MESSAGE_SHARDS": ",".join(f"postgres://postgres@127.0.0.1:5432/{db}" for db in DBS[1:]),
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "IM_WEB1_PORT": str(port1),
        "IM_WEB2_PORT": str(port2),
        "IM_DIST_DATA": str(tmp_path / "dist"),
        "IM_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    for key in ("DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE", "IM_NODE_NAME", "IM_PUBLIC_WS_URL"):
        env.pop(key, None)
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(ROOT / "bin" / "run-distributed")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(ready) < 2:
            assert proc.poll() is None, log_path.read_text()[-4000:]
            for port in (port1, port2):
                try:
                    status, body = _get(f"http://127.0.0.1:{port}/readyz")
                except OSError:
                    continue
                if status == 200:
                    ready[port] = body
            time.sleep(1)
        text = log_path.read_text()
        assert len(ready) == 2, text[-4000:]
        assert f"Open http://127.0.0.1:{port1}/ in your browser (second node: http://127.0.0.1:{port2}/)" in text
        for body in ready.values():
            for check in ("shard0", "shard1", "redis"):
                assert check in body
        for port in (port1, port2):
            status, metrics = _get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "im_pending_acks" in metrics
        # The secret key was generated into the (git-ignored) data folder of the run.
        assert (tmp_path / "dist" / "dist-secret").stat().st_size > 40

        # Worker and beat are up too.
        def started() -> bool:
            lines = log_path.read_text().splitlines()
            worker = any(" worker.1 " in ln and "ready." in ln for ln in lines)
            beat = any(" beat.1 " in ln and "beat: Starting" in ln for ln in lines)
            return worker and beat

        deadline = time.monotonic() + 60
        while not started() and time.monotonic() < deadline:
            time.sleep(1)
        assert started(), log_path.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    text = log_path.read_text()
    for name in ("web1.1", "web2.1", "worker.1", "beat.1"):
        assert f"{name} stopped" in text, text[-4000:]
    # Leave nothing behind: the run's own databases and its own Redis database.
    subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], capture_output=True, timeout=30)
    for db in DBS:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-XqAt",
                "-c",
                f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
            ],
            capture_output=True,
            timeout=60,
        )
