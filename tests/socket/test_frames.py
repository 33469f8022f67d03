"""hello / synced, ping / pong, the heartbeat timeout and refused frames (docs/api.md section 5)."""

import asyncio

import orjson
from channels.db import database_sync_to_async as db
from django.conf import settings

from tests.conftest import ALL_DBS
from tests.socket.conftest import close_code, still_open

pytestmark = ALL_DBS


async def test_hello_fields_with_the_default_timeout(make_user, connect):
    alice = await db(make_user)()
    sock = await connect(alice)
    assert sock.hello == {"type": "hello", "user_id": alice.id, "node": settings.IM_NODE_NAME,
                          "heartbeat_interval": 25, "heartbeat_timeout": 90, "online_friends": []}
    assert sock.initial == []  # nothing queued: hello is followed by synced


async def test_heartbeat_interval_is_a_third_of_a_short_timeout(make_user, connect, settings):
    settings.IM_HEARTBEAT_TIMEOUT = 30
    sock = await connect(await db(make_user)())
    assert sock.hello["heartbeat_interval"] == 10 and sock.hello["heartbeat_timeout"] == 30


async def test_ping_pong(make_user, connect):
    sock = await connect(await db(make_user)())
    await sock.send({"type": "ping"})
    pong = await sock.recv()
    assert pong["type"] == "pong" and isinstance(pong["ts"], (int, float)) and pong["ts"] > 1.7e9


async def test_silence_closes_with_4408(make_user, connect, settings):
    settings.IM_HEARTBEAT_TIMEOUT = 1
    sock = await connect(await db(make_user)())
    assert sock.hello["heartbeat_timeout"] == 1  # read at connect, not at import
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await close_code(sock, timeout=5) == 4408
    assert 0.9 <= loop.time() - started < 3


async def test_every_frame_resets_the_heartbeat_clock(make_user, connect, settings):
    settings.IM_HEARTBEAT_TIMEOUT = 1
    sock = await connect(await db(make_user)())
    loop = asyncio.get_running_loop()
    started = loop.time()
    # 2.5 timeouts of traffic, including frames that are refused: the socket stays open.
    kinds = [{"type": "ping"}, {"type": "nope"}, {"type": "msg_ids", "count": 0}]
    for index in range(10):
        await sock.send(kinds[index % len(kinds)])
        assert (await sock.recv())["type"] in {"pong", "error"}
        await asyncio.sleep(0.25)
    assert loop.time() - started > 2.4
    assert await sock.nothing(0.2)  # not closed
    assert await close_code(sock, timeout=3) == 4408  # silence again: closed


async def _refused(sock, raw: str | bytes) -> dict:
    if isinstance(raw, bytes):
        await sock.c.send_to(bytes_data=raw)
    else:
        await sock.c.send_to(text_data=raw)
    frame = await sock.recv()
    assert frame["type"] == "error"
    assert await still_open(sock)  # the connection stays open
    return frame


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(make_user, connect):
    sock = await connect(await db(make_user)())
    for raw in ("{not json", " ", "[1, 2]", "5", '"ping"', "null", "{}", '{"type": 5}', b"\xff\xfe"):
        frame = await _refused(sock, raw)
        assert frame["code"] == "invalid_frame", raw
        assert isinstance(frame["message"], str) and frame["message"]
    frame = await _refused(sock, '{"type": "teleport"}')
    assert frame["code"] == "unknown_type"


async def test_frames_over_64_kib_are_too_large(make_user, connect):
    sock = await connect(await db(make_user)())
    padding = "x" * (64 * 1024)
    frame = await _refused(sock, orjson.dumps({"type": "ping", "pad": padding}).decode())
    assert frame["code"] == "too_large"
    # The limit is on bytes: 30,000 CJK characters are 90,000 bytes of UTF-8.
    frame = await _refused(sock, orjson.dumps({"type": "ping", "pad": "你" * 30000}).decode())
    assert frame["code"] == "too_large"
    # Just under the limit is an ordinary frame.
    under = orjson.dumps({"type": "ping", "pad": "x" * (64 * 1024 - 100)}).decode()
    await sock.c.send_to(text_data=under)
    assert (await sock.recv())["type"] == "pong"


async def test_missing_required_fields_are_invalid_frame(make_user, connect):
    sock = await connect(await db(make_user)())
    for frame in ({"type": "send"}, {"type": "delivered"}, {"type": "read", "conversation_id": "d_1_2"},
                  {"type": "recall"}, {"type": "typing"}):
        await sock.send(frame)
        error = await sock.recv()
        assert error["type"] == "error" and error["code"] == "invalid_frame", frame
    assert await still_open(sock)
