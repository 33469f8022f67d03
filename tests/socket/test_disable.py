"""Disabling an account (e.g. in Django admin) closes its open sockets with 4403."""

from channels.db import database_sync_to_async as db

from tests.conftest import ALL_DBS
from tests.socket.conftest import close_code, still_open

pytestmark = ALL_DBS


async def test_disabling_an_account_closes_its_sockets(make_user, connect):
    alice, bob = await db(make_user)(), await db(make_user)()
    first, second = await connect(alice), await connect(alice)
    other = await connect(bob)

    def disable() -> None:
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    await db(disable)()
    assert await close_code(first) == 4403
    assert await close_code(second) == 4403
    assert await still_open(other)


async def test_saving_an_active_account_closes_nothing(make_user, connect):
    alice = await db(make_user)()
    socket = await connect(alice)

    def rename() -> None:
        alice.display_name = "Alice"
        alice.save(update_fields=["display_name"])

    await db(rename)()
    assert await socket.nothing()
    assert await still_open(socket)
