"""Calls that end without a hang-up: a side's last device goes away, or nobody answers in time."""

import asyncio

from channels.db import database_sync_to_async as db

from chat import tasks
from chat.actions import local_sweeper
from chat.actions.calls import expire_ringing_calls
from chat.models import Call
from tests.calls.conftest import call_records, frame, new_call_id
from tests.calls.test_call_signalling import record_message
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


async def start_call(pair, a, b, *, accept: bool) -> str:
    call_id = new_call_id()
    await a.send(frame(pair, "invite", call_id, media="audio"))
    await b.recv_type("call")
    if accept:
        await b.send(frame(pair, "accept", call_id))
        await a.recv_type("call")
    return call_id


async def test_disconnect_of_last_device_ends_an_active_call(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    a_other = await connect(pair.alice)
    call_id = await start_call(pair, a, b, accept=True)
    await a.close()
    # Alice still has a device: the call goes on.
    assert await b.nothing(0.5)
    await a_other.close()
    end = await b.recv_type("call")
    assert end == frame(pair, "hangup", call_id, from_user_id=pair.alice.id, outcome="completed",
                        reason="disconnected")
    record = (await record_message(b))["content"]
    assert record["outcome"] == "completed" and record["actor_id"] == pair.alice.id
    assert record["duration_ms"] >= 0
    assert await db(call_records)(pair.cid) == [record]


async def test_inviter_leaving_while_ringing_cancels(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    call_id = await start_call(pair, a, b, accept=False)
    await a.close()
    end = await b.recv_type("call")
    assert end["action"] == "cancel" and end["outcome"] == "cancelled" and end["call_id"] == call_id
    record = (await record_message(b))["content"]
    assert record == {"event": "call", "call_id": call_id, "media": "audio", "outcome": "cancelled",
                      "duration_ms": 0, "actor_id": pair.alice.id}


async def test_callee_leaving_while_ringing_is_missed(pair, connect):
    a, b = await connect(pair.alice), await connect(pair.bob)
    call_id = await start_call(pair, a, b, accept=False)
    await b.close()
    end = await a.recv_type("call")
    assert end == frame(pair, "reject", call_id, from_user_id=pair.bob.id, outcome="missed", reason="disconnected")
    record = (await record_message(a))["content"]
    assert record["outcome"] == "missed" and record["duration_ms"] == 0 and record["actor_id"] == pair.bob.id


async def wait_until_due(call_id: str, timeout: float) -> None:
    """Poll the sweep until the call is old enough to expire (bounded by a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await db(expire_ringing_calls)() == 0:
        assert loop.time() < deadline, "the ringing call never expired"
        await asyncio.sleep(0.05)


async def test_unanswered_call_is_missed_after_the_ring_timeout(pair, connect, settings):
    settings.IM_CALL_RING_TIMEOUT = 0.3
    a, b = await connect(pair.alice), await connect(pair.bob)
    ringing_id = await start_call(pair, a, b, accept=True)  # accepted: never expires
    call_id = await start_call(pair, a, b, accept=False)
    await wait_until_due(call_id, timeout=5)
    for sock in (a, b):
        assert await sock.recv_type("call") == frame(pair, "timeout", call_id, from_user_id=None, outcome="missed",
                                                     reason="timeout")
        record = (await record_message(sock))["content"]
        assert record == {"event": "call", "call_id": call_id, "media": "audio", "outcome": "missed",
                          "duration_ms": 0, "actor_id": None}
    assert await db(expire_ringing_calls)() == 0
    assert (await db(Call.objects.get)(call_id=ringing_id)).state == Call.State.ACTIVE
    assert await db(call_records)(pair.cid) == [record]
    # Accepting after the timeout is refused.
    await b.send(frame(pair, "accept", call_id))
    assert (await b.recv_type("error"))["code"] == "not_found"


async def test_celery_task_and_local_sweeper_expire_calls(pair, connect, settings):
    """The beat task and the embedded default's sweeper both run the same expiry."""
    settings.IM_CALL_RING_TIMEOUT = 0
    a, b = await connect(pair.alice), await connect(pair.bob)
    await start_call(pair, a, b, accept=False)
    assert "chat.tasks.expire_ringing_calls" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert await db(tasks.expire_ringing_calls)() == 1
    second = await start_call(pair, a, b, accept=False)
    local_sweeper.ensure_running()
    try:
        ended = await a.recv_type("call", timeout=5)
        while ended["call_id"] != second:
            ended = await a.recv_type("call", timeout=5)
        assert ended["action"] == "timeout"
    finally:
        local_sweeper._task.cancel()
    assert [r["outcome"] for r in await db(call_records)(pair.cid)] == ["missed", "missed"]
