"""Frames in flight are bounded per socket and per node (imsite/realtime/pipeline.py): past a
limit the socket reads its next message only when answers have been written; with the tightest
limits every frame is still answered, in order."""

import asyncio

from channels.db import database_sync_to_async as db

from conversations.actions.direct import check_open_direct
from imsite.realtime.pipeline import Admission, Pipeline
from tests.conftest import ALL_DBS


def _pipeline(written: list, limit: int, node: Admission) -> Pipeline:
    async def write(frames: list) -> None:
        written.extend(frames)

    async def failed(exc: BaseException) -> None:
        raise AssertionError(exc)

    return Pipeline(write, failed, limit=limit, node=node)


async def test_a_socket_at_its_limit_takes_its_next_message_once_its_answers_are_written():
    written: list = []
    taken: list = []
    node = Admission(100)
    pipeline = _pipeline(written, 2, node)
    first, second = asyncio.get_running_loop().create_future(), asyncio.get_running_loop().create_future()
    pipeline.joined(lambda: first)
    pipeline.joined(lambda: second)
    assert node.used == 2
    pipeline.receive("third", taken.append)
    pipeline.receive("fourth", taken.append)
    second.set_result([{"n": 2}])  # ready, but written only after the first: still two in flight
    await asyncio.sleep(0.01)
    assert taken == []
    first.set_result([{"n": 1}])
    await asyncio.sleep(0.01)
    assert written == [{"n": 1}, {"n": 2}] and node.used == 0
    assert taken == ["third", "fourth"]  # in order


async def test_a_full_node_takes_the_waiting_sockets_messages_in_order_one_per_freed_frame():
    written: list = []
    node = Admission(1)
    busy, first, second = (_pipeline(written, 10, node) for _ in range(3))
    answer = asyncio.get_running_loop().create_future()
    busy.joined(lambda: answer)
    taken: list[str] = []

    def take(pipeline: Pipeline):
        def run(name: str) -> None:
            taken.append(name)
            pipeline.answer([{"from": name}])  # the message's frame takes the freed room
        return run

    first.receive("first", take(first))
    second.receive("second", take(second))
    await asyncio.sleep(0.01)
    assert taken == []
    answer.set_result([])
    await asyncio.sleep(0.01)
    assert taken == ["first", "second"]  # first's answer, written at once, freed the room for second
    assert written == [{"from": "first"}, {"from": "second"}] and node.used == 0


async def test_a_socket_closed_while_waiting_passes_its_wake_up_on():
    node = Admission(1)
    node.take()
    gone = asyncio.ensure_future(node.room())
    staying = asyncio.ensure_future(node.room())
    await asyncio.sleep(0)
    node.give()  # wakes `gone`, which is cancelled before it runs
    gone.cancel()
    await asyncio.wait_for(staying, 1)


async def test_a_closed_pipeline_gives_back_what_it_held():
    node = Admission(10)
    pipeline = _pipeline([], 10, node)
    pipeline.joined(lambda: asyncio.get_running_loop().create_future())  # never answered
    pipeline.answer([])
    assert node.used == 2
    pipeline.close()
    assert node.used == 0


async def test_a_draining_pipeline_takes_what_waited_in_its_inbox():
    node = Admission(1)
    pipeline = _pipeline([], 1, node)
    answer = asyncio.get_running_loop().create_future()
    pipeline.joined(lambda: answer)
    taken: list = []
    pipeline.receive("last delivered", taken.append)
    assert taken == []
    answer.set_result([])
    await pipeline.drain(1)  # the socket closed: what it sent still counts
    assert taken == ["last delivered"] and node.used == 0


@ALL_DBS
async def test_with_the_tightest_limits_every_frame_is_answered_in_order(make_user, make_friends, connect, settings):
    settings.IM_SOCKET_FRAMES_IN_FLIGHT = 1
    settings.IM_NODE_FRAMES_IN_FLIGHT = 1
    settings.IM_SEND_RATE = 10_000
    alice, bob = await db(make_user)(), await db(make_user)()
    await db(make_friends)(alice, bob)
    membership, _ = await db(check_open_direct)(alice, bob.id)
    cid = membership.conversation_id
    a = await connect(alice, batch=True)
    b = await connect(bob)
    await a.send({"type": "msg_ids", "count": 20})
    ids = (await a.recv_type("msg_ids"))["ids"]
    sends = [{"type": "send", "msg_id": msg_id, "conversation_id": cid, "msg_type": "text",
              "content": {"text": f"m{n}"}} for n, msg_id in enumerate(ids)]
    await a.send(sends[:10])  # an array goes past the limits once
    for frame in sends[10:]:  # then each message waits for room
        await a.send(frame)
        await b.send({"type": "ping"})  # another socket of the node, reading meanwhile
    acks = [await a.recv_type("ack", 5) for _ in range(20)]
    assert [ack["seq"] for ack in acks] == list(range(1, 21))
    got = [(await b.recv_type("message", 5))["message"]["seq"] for _ in range(20)]
    assert got == list(range(1, 21))
