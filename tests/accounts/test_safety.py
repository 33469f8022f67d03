"""Account safety (docs/api.md section 11) through the real doors: the login lockout on
/api/v1/auth/token, /o/token/ and the /login form, the sign-up rate per client address, password
change (tokens revoked, sockets closed, other sessions ended), JSON 404 and 500 under /api/, and
the security headers of every HTML page. tests/embedded runs the same tests on the embedded default."""

import re
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async as db
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.actions.tokens import first_party_application
from tests.conftest import ALL_DBS, PASSWORD
from tests.socket.conftest import close_code, still_open

pytestmark = ALL_DBS


def api_login(username: str, password: str) -> tuple[int, dict]:
    response = APIClient().post("/api/v1/auth/token", {"username": username, "password": password}, format="json")
    return response.status_code, response.json()


def oauth_login(username: str, password: str) -> tuple[int, dict]:
    first_party_application()  # the data migration's row, gone after a flush of the test database
    response = Client().post("/o/token/", {"grant_type": "password", "username": username, "password": password,
                                           "client_id": settings.IM_OAUTH_CLIENT_ID})
    return response.status_code, response.json()


def form_login(username: str, password: str) -> tuple[int, Client]:
    client = Client()
    response = client.post("/login", {"username": username, "password": password})
    return response.status_code, client


def signed_in(client: Client) -> bool:
    return client.get("/api/v1/me").status_code == 200


@pytest.fixture
def lockout(settings):
    settings.IM_LOGIN_ATTEMPTS = 3
    settings.IM_LOGIN_LOCKOUT = 900
    return settings


def test_the_api_door_locks_after_the_failures_even_for_the_right_password(make_user, lockout):
    make_user("alice")
    make_user("bob")
    for _ in range(3):
        assert api_login("alice", "wrong")[0] == 401
    status, body = api_login("alice", PASSWORD)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert api_login("ALICE", PASSWORD)[0] == 429  # the username regardless of case
    assert api_login("bob", PASSWORD)[0] == 200  # per username


def test_the_three_doors_share_one_count(make_user, lockout):
    make_user("alice")
    assert oauth_login("alice", "wrong") == (400, {"error": "invalid_grant",
                                                   "error_description": "Invalid credentials given."})
    assert form_login("alice", "wrong")[0] == 400
    assert api_login("alice", "wrong")[0] == 401
    status, body = oauth_login("alice", PASSWORD)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    status, client = form_login("alice", PASSWORD)
    assert status == 429 and not signed_in(client) and "sessionid" not in client.cookies
    assert api_login("alice", PASSWORD)[0] == 429


def test_the_form_door_locks_and_sets_no_session(make_user, lockout):
    make_user("alice")
    for _ in range(3):
        assert form_login("alice", "wrong")[0] == 400
    status, client = form_login("alice", PASSWORD)
    assert status == 429 and not signed_in(client)


def test_a_success_resets_the_count(make_user, lockout):
    make_user("alice")
    for _ in range(2):
        assert api_login("alice", "wrong")[0] == 401
    assert oauth_login("alice", PASSWORD)[0] == 200
    for _ in range(2):
        assert oauth_login("alice", "wrong")[0] == 400
    status, client = form_login("alice", PASSWORD)
    assert status == 302 and signed_in(client)


def test_unknown_usernames_are_counted_too(lockout):
    for _ in range(3):
        assert api_login("nobody", "wrong")[0] == 401
    assert api_login("nobody", "wrong")[0] == 429


def test_the_lockout_ends_after_the_last_counted_failure_refused_attempts_do_not_count(make_user, settings):
    settings.IM_LOGIN_ATTEMPTS = 2
    settings.IM_LOGIN_LOCKOUT = 1.5
    make_user("alice")
    assert api_login("alice", "wrong")[0] == 401
    assert api_login("alice", "wrong")[0] == 401
    last_failure = time.monotonic()
    time.sleep(0.8)  # the lockout is a span of time: this waits through part of it
    assert api_login("alice", "wrong")[0] == 429  # refused: not counted, the lockout is not extended
    assert form_login("alice", PASSWORD)[0] == 429
    time.sleep(max(0.0, last_failure + 1.6 - time.monotonic()))
    assert api_login("alice", PASSWORD)[0] == 200


def test_sign_ups_per_client_address(settings):
    settings.IM_REGISTER_RATE = 2

    def register(name: str, address: str = "10.1.1.1", password: str = PASSWORD) -> int:
        return APIClient(REMOTE_ADDR=address).post("/api/v1/auth/register", {"username": name, "password": password},
                                                   format="json").status_code

    assert register("first") == 201
    assert register("bad", password="") == 400  # a refused sign-up does not count
    assert register("first") == 409
    assert register("second") == 201
    response = APIClient(REMOTE_ADDR="10.1.1.1").post("/api/v1/auth/register",
                                                      {"username": "third", "password": PASSWORD}, format="json")
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    form = Client(REMOTE_ADDR="10.1.1.1").post("/register", {"username": "third", "password": PASSWORD})
    assert form.status_code == 429
    assert register("third", address="10.2.2.2") == 201


async def test_password_change_revokes_the_other_tokens_and_sessions(make_user, token_for, connect):
    alice = await db(make_user)("alice")
    mine, other = await db(token_for)(alice), await db(token_for)(alice)
    my_socket, other_socket = await connect(token=mine), await connect(token=other)

    def browser() -> Client:
        client = Client()
        assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
        return client

    other_browser = await db(browser)()

    def change(old: str, new: str) -> tuple[int, dict | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine}")
        response = client.post("/api/v1/me/password", {"old_password": old, "new_password": new}, format="json")
        return response.status_code, response.json() if response.content else None

    status, body = await db(change)("wrong", "another long pass phrase")
    assert status == 400 and body["error"]["code"] == "invalid" and "old_password" in body["error"]["fields"]
    status, body = await db(change)(PASSWORD, "123")
    assert status == 400 and "new_password" in body["error"]["fields"]
    assert await db(change)(PASSWORD, "another long pass phrase") == (204, None)

    assert await close_code(other_socket) == 4401
    assert await still_open(my_socket)

    def after() -> None:
        def me(token: str) -> int:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            return client.get("/api/v1/me").status_code

        assert me(mine) == 200 and me(other) == 401
        assert other_browser.get("/api/v1/me").status_code == 401
        assert api_login("alice", PASSWORD)[0] == 401
        assert api_login("alice", "another long pass phrase")[0] == 200

    await db(after)()


async def test_password_change_closes_the_other_browsers_sockets(make_user, token_for, connect):
    """Sockets opened with a session cookie: the other browser's close (4401, its session ended),
    the one of the browser that changed the password stays."""
    await db(make_user)("alice")

    def browser() -> Client:
        client = Client()
        assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
        return client

    mine, other = await db(browser)(), await db(browser)()

    def headers(client: Client) -> list[tuple[bytes, bytes]]:
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        return [(b"cookie", cookie.encode()), (b"origin", b"http://localhost")]

    my_socket = await connect(path="/ws", headers=headers(mine))
    other_socket = await connect(path="/ws", headers=headers(other))

    def change() -> int:
        return mine.post("/api/v1/me/password", {"old_password": PASSWORD, "new_password": "a fresh long phrase"},
                         content_type="application/json", HTTP_X_CSRFTOKEN=mine.cookies["csrftoken"].value).status_code

    assert await db(change)() == 204
    assert await close_code(other_socket) == 4401
    assert await still_open(my_socket)


def test_password_change_by_session_keeps_that_browser(make_user):
    make_user("alice")
    client = Client()
    client.post("/login", {"username": "alice", "password": PASSWORD})
    response = client.post("/api/v1/me/password", {"old_password": PASSWORD, "new_password": "a fresh long phrase"},
                           content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 204
    assert signed_in(client)


@pytest.mark.parametrize(("method", "path"), [("get", "/api/v1/nothing-here"), ("post", "/api/v1/nothing/here"),
                                               ("get", "/api/other"), ("delete", "/o/nothing")])
def test_unknown_api_paths_answer_the_json_404(client, method, path):
    response = getattr(client, method)(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_server_error_answers_server_error_without_a_trace(make_user, client_for, monkeypatch):
    from accounts.actions import users

    def broken(*args, **kwargs):
        raise RuntimeError("a secret detail")

    monkeypatch.setattr(users, "search_users", broken)
    client = client_for(make_user())
    client.raise_request_exception = False
    response = client.get("/api/v1/users?q=a")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret" not in response.content and b"Traceback" not in response.content


def assert_safe_headers(response) -> None:
    assert response["Content-Type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    script = policy.get("script-src", policy["default-src"])
    assert "unsafe-inline" not in script and "unsafe-eval" not in script
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"]


def test_every_html_page_sends_the_security_headers(make_user, make_friends, admin_user):
    from conversations.actions.direct import check_open_direct

    alice, bob = make_user("alice"), make_user("bob")
    make_friends(alice, bob)
    cid = check_open_direct(alice, bob.id)[0].conversation_id
    html = {"HTTP_ACCEPT": "text/html"}
    anonymous = Client(**html)
    pages = [anonymous.get("/login"), anonymous.get("/register"), anonymous.get("/api/docs"),
             anonymous.get("/admin/login/"), anonymous.get("/no-such-page"),
             anonymous.post("/login", {"username": "alice", "password": "wrong"})]
    signed = Client(**html)
    signed.post("/login", {"username": "alice", "password": PASSWORD})
    pages.append(signed.get("/"))
    staff = Client(**html)
    staff.force_login(admin_user)
    pages += [staff.get(path) for path in ("/admin/", "/admin/accounts/user/", "/admin/groups/group/",
                                           "/admin/conversations/conversation/",
                                           f"/admin/conversations/conversation/{cid}/messages/")]
    for response in pages:
        assert response.status_code in (200, 400, 404), response.status_code
        assert_safe_headers(response)
    docs_script = anonymous.get("/api/docs?script=")
    assert docs_script.status_code == 200 and "javascript" in docs_script["Content-Type"]


TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_templates_hold_no_inline_script_or_handler():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            assert "src=" in tag, f"{path}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"{path}: inline event handler"
        assert "javascript:" not in text.lower(), path
