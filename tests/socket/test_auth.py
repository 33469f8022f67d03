"""Who may open /ws (docs/api.md section 5): bearer header, ?access_token=, or the session cookie
from an allowed Origin; refused connections are accepted, then closed with 4401 or 4403."""

from datetime import timedelta

from channels.db import database_sync_to_async as db
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.conftest import ALL_DBS
from tests.socket.conftest import close_code, session_cookie, still_open

pytestmark = ALL_DBS


async def test_bearer_header_without_origin(make_user, token_for, connect):
    alice = await db(make_user)()
    token = await db(token_for)(alice)
    sock = await connect(path="/ws", headers=[(b"authorization", f"Bearer {token}".encode())])
    assert sock.hello["user_id"] == alice.id
    assert await still_open(sock)


async def test_access_token_query(make_user, connect):
    alice = await db(make_user)()
    sock = await connect(alice)
    assert sock.hello["user_id"] == alice.id
    assert await still_open(sock)


async def test_session_cookie_from_allowed_origin(make_user, connect):
    alice = await db(make_user)()
    cookie = await db(session_cookie)(alice)
    for origin in (b"http://localhost:8000", b"https://127.0.0.1"):
        sock = await connect(path="/ws", headers=[(b"cookie", cookie), (b"origin", origin)])
        assert sock.hello["user_id"] == alice.id
        assert await still_open(sock)


async def test_session_cookie_from_foreign_origin_is_4403(make_user, connect):
    alice = await db(make_user)()
    cookie = await db(session_cookie)(alice)
    for headers in ([(b"cookie", cookie), (b"origin", b"https://evil.example")],
                    [(b"cookie", cookie), (b"origin", b"http://localhost.evil.example")],
                    [(b"cookie", cookie)]):  # a cookie without any Origin is not trusted either
        sock = await connect(path="/ws", headers=headers, expect_synced=False)
        assert await close_code(sock) == 4403


async def test_no_or_bad_token_is_accepted_then_4401(make_user, connect):
    alice = await db(make_user)()
    for path, headers in (("/ws", []), ("/ws?access_token=nope", []),
                          ("/ws", [(b"authorization", b"Bearer nope")]), ("/ws?access_token=", [])):
        sock = await connect(path=path, headers=headers, expect_synced=False)
        assert await close_code(sock) == 4401, (path, headers)
    # an expired token too
    access = await db(lambda: AccessToken.objects.create(
        user=alice, token="expired-token", expires=timezone.now() - timedelta(seconds=1), scope="im"))()
    sock = await connect(path=f"/ws?access_token={access.token}", expect_synced=False)
    assert await close_code(sock) == 4401


async def test_disabled_account_is_4403(make_user, token_for, connect):
    alice = await db(make_user)()
    token = await db(token_for)(alice)
    alice.is_active = False
    await db(alice.save)(update_fields=["is_active"])
    sock = await connect(token=token, expect_synced=False)
    assert await close_code(sock) == 4403


async def test_token_found_by_its_checksum(make_user, token_for, connect):
    """RFC 9700 storage keeps only the token's SHA-256 (django-oauth-toolkit's token_checksum,
    the indexed column): the socket looks tokens up by it, never by the plaintext column."""
    alice = await db(make_user)()
    token = await db(token_for)(alice)
    await db(AccessToken.objects.filter(user=alice).update)(token="")
    sock = await connect(path="/ws", headers=[(b"authorization", f"Bearer {token}".encode())])
    assert sock.hello["user_id"] == alice.id
