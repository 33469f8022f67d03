"""Fixtures of the end-to-end tests: a cluster of real processes per test (started after the
per-test Redis flush, killed at teardown) and a direct conversation between two friends."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from channels.db import database_sync_to_async as db

from accounts.models import User
from conversations.actions.direct import check_open_direct
from tests.e2e.processes import Cluster


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(**settings_env: str) -> Cluster:
        cluster = Cluster(tmp_path / f"cluster{len(made)}", **settings_env)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()


@dataclass
class Pair:
    alice: User
    bob: User
    alice_token: str
    bob_token: str
    cid: str


@pytest.fixture
def pair(make_user, make_friends, token_for) -> Callable:
    async def make() -> Pair:
        alice, bob = await db(make_user)(), await db(make_user)()
        await db(make_friends)(alice, bob)
        membership, _ = await db(check_open_direct)(alice, bob.id)
        return Pair(alice, bob, await db(token_for)(alice), await db(token_for)(bob), membership.conversation_id)

    return make
