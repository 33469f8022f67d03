"""Logout revokes the token and closes every socket opened with it with 4401 (docs/api.md section 1)."""

from channels.db import database_sync_to_async as db
from rest_framework.test import APIClient

from tests.conftest import ALL_DBS
from tests.socket.conftest import close_code, still_open

pytestmark = ALL_DBS


async def test_logout_closes_the_sockets_of_that_token_only(make_user, token_for, connect):
    alice = await db(make_user)()
    token, other_token = await db(token_for)(alice), await db(token_for)(alice)
    first = await connect(token=token)
    second = await connect(path="/ws", headers=[(b"authorization", f"Bearer {token}".encode())])
    other = await connect(token=other_token)

    def logout() -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post("/api/v1/auth/logout").status_code

    assert await db(logout)() == 204
    assert await close_code(first) == 4401
    assert await close_code(second) == 4401
    assert await still_open(other)
    # the revoked token no longer opens a socket
    again = await connect(token=token, expect_synced=False)
    assert await close_code(again) == 4401
