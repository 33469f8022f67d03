"""End to end: a real daphne process with DJANGO_DEBUG=false after collectstatic, on the test
databases, talked to over HTTP and with a real WebSocket client."""

import asyncio
import http.client
import json
import socket
import subprocess
import time

import pytest
import websockets
from channels.db import database_sync_to_async as db
from django.db import connections

from tests.conftest import ALL_DBS, PASSWORD
from tests.ops.conftest import PYTHON, ROOT, child_env

pytestmark = [ALL_DBS, pytest.mark.e2e]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=payload, headers=all_headers | (headers or {}))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def daphne(tmp_path):
    """The port of a daphne node started for this test; stopped at the end whatever happens."""
    port = free_port()
    env = child_env(DJANGO_DEBUG="false", DJANGO_STATIC_ROOT=str(tmp_path / "static"),
                    IM_DATA_DIR=str(tmp_path / "data"), IM_NODE_NAME=f"127.0.0.1:{port}")
    collected = subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css.gz").exists()
    process = subprocess.Popen([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "imsite.asgi:application"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "daphne did not come up"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_pages_static_files_and_a_real_socket(daphne, make_user):
    port = daphne
    call = asyncio.to_thread
    status, headers, _ = await call(request, port, "GET", "/")
    assert status == 302 and headers["location"].startswith("/login")
    status, _, page = await call(request, port, "GET", "/login")
    assert status == 200 and b"Log in" in page
    # static files are served by the application itself with DEBUG off
    for path in ("/static/admin/css/base.css", "/static/im/app.css"):
        status, headers, content = await call(request, port, "GET", path)
        assert status == 200 and headers["content-type"].startswith("text/css") and content, path
    status, _, content = await call(request, port, "GET", "/static/nope.css")
    assert status == 404 and b"URLconf" not in content  # DEBUG is off: no technical 404 page

    alice = await db(make_user)("alice")
    status, _, body = await call(request, port, "POST", "/api/v1/auth/token",
                                 {"username": "alice", "password": PASSWORD})
    assert status == 200, body
    tokens = json.loads(body)
    assert tokens["ws_url"].startswith("ws://")
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?access_token={tokens['access_token']}") as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and hello["user_id"] == alice.id and hello["node"] == f"127.0.0.1:{port}"
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "synced"}
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "pong"
    # a bearer header without Origin, as a native app connects
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers=headers) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
    # a bad token: the client reads the reason in the close code
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?access_token=nope") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 4401


def _backends() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def test_http_requests_leave_no_database_connection_behind(daphne):
    """Each request runs on a thread of its own under ASGI: a connection it kept would stay open
    until the node's (rare: imsite/gc_policy.py) garbage collection, one more per request."""
    assert (await asyncio.to_thread(request, daphne, "GET", "/readyz"))[0] == 200
    before = await _settled_backends(above=None)
    for _ in range(20):  # /readyz queries every database
        assert (await asyncio.to_thread(request, daphne, "GET", "/readyz"))[0] == 200
    assert await _settled_backends(above=before) <= before


async def _settled_backends(above: int | None, timeout: float = 5.0) -> int:
    """The backend count once closed connections' backends have left pg_stat_activity (they take
    a moment): polled until it is no more than `above`, or stops changing, or `timeout`."""
    loop = asyncio.get_running_loop()
    deadline, last = loop.time() + timeout, None
    while True:
        count = await db(_backends)()
        if (above is not None and count <= above) or count == last or loop.time() > deadline:
            return count
        last = count
        await asyncio.sleep(0.2)
