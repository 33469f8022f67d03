"""Snowflake message ids (imsite/snowflake.py): unique across processes that each lease a node
id from Redis, and safe when the clock goes backwards."""

import json
import subprocess
import time

import pytest

from imsite import snowflake
from imsite.realtime.store import redis_client
from tests.ops.conftest import PYTHON, ROOT, child_env

GENERATE = """
import json, django
django.setup()
from imsite import snowflake
ids = snowflake.next_ids(10000)
print(json.dumps({"node": snowflake.generator().node_id, "ids": ids}))
"""


def node_of(msg_id: int) -> int:
    return (msg_id >> snowflake.SEQ_BITS) & snowflake.MAX_NODE


def test_two_processes_lease_different_nodes_and_never_collide():
    env = child_env(IM_SNOWFLAKE_NODE_ID="", DJANGO_SETTINGS_MODULE="imsite.settings")
    children = [subprocess.Popen([PYTHON, "-c", GENERATE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    first, second = results
    assert first["node"] != second["node"]
    for result in results:
        ids = result["ids"]
        assert len(set(ids)) == 10000 and ids == sorted(ids)
        assert {node_of(i) for i in ids} == {result["node"]}
        assert all(0 < i < 2**63 for i in ids)
    assert not set(first["ids"]) & set(second["ids"])
    # both leases are held in Redis
    for result in results:
        assert redis_client().exists(f"im:snowflake:lease:{result['node']}")


def test_a_lease_lost_while_idle_is_never_shared(monkeypatch, settings):
    settings.IM_SNOWFLAKE_NODE_ID = ""
    r = redis_client()
    monkeypatch.setattr(snowflake, "_generator", None)  # this process's generator, restored afterwards
    first = snowflake.generator().node_id
    key = f"im:snowflake:lease:{first}"
    holder = r.get(key)

    def idle_past_renewal() -> None:
        monkeypatch.setattr(snowflake, "_leased_at", time.monotonic() - snowflake.LEASE_SECONDS)

    idle_past_renewal()
    r.expire(key, 5)
    assert snowflake.generator().node_id == first  # still ours: renewed
    assert r.ttl(key) > snowflake.LEASE_SECONDS - 10
    idle_past_renewal()
    r.delete(key)  # expired, nobody took it: taken back
    assert snowflake.generator().node_id == first and r.get(key) == holder
    idle_past_renewal()
    r.set(key, "another-host:1")  # expired and another process leased it meanwhile
    second = snowflake.generator().node_id
    assert second != first
    assert r.get(key) == b"another-host:1" and r.get(f"im:snowflake:lease:{second}") == holder


class FakeClock:
    """Stands in for the `time` module: the time moves only when set or slept through."""

    def __init__(self, now: float):
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(1_800_000_000.000)
    monkeypatch.setattr(snowflake, "time", fake)
    return fake


def millis(msg_id: int) -> int:
    return (msg_id >> (snowflake.NODE_BITS + snowflake.SEQ_BITS)) + snowflake.EPOCH_MS


def test_layout_41_bit_milliseconds_node_and_sequence(clock):
    ids = snowflake.SnowflakeGenerator(5).next_ids(3)
    assert [millis(i) for i in ids] == [1_800_000_000_000] * 3
    assert [node_of(i) for i in ids] == [5, 5, 5]
    assert [i & snowflake.MAX_SEQ for i in ids] == [0, 1, 2]


def test_clock_going_backwards_never_reuses_a_millisecond(clock):
    generator = snowflake.SnowflakeGenerator(7)
    before = generator.next_ids(3)
    clock.now -= 0.050  # NTP steps the clock back 50 ms
    after = generator.next_ids(3)
    assert sum(clock.slept) == pytest.approx(0.050, abs=0.002)  # it waited for the time to catch up
    ids = before + after
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert min(millis(i) for i in after) >= max(millis(i) for i in before)


def test_sequence_overflow_waits_for_the_next_millisecond(clock):
    ids = snowflake.SnowflakeGenerator(1).next_ids(5000)
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    assert millis(ids[4095]) == 1_800_000_000_000 and millis(ids[4096]) > 1_800_000_000_000


def test_node_id_must_fit_ten_bits():
    with pytest.raises(ValueError):
        snowflake.SnowflakeGenerator(1024)
