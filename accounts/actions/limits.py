"""Login lockout per username and the sign-up rate per client address (docs/api.md section 11).

Both count in a window of the shared state (Redis, or this process in the embedded mode), so
every node sees the same counts. An attempt holds a place in its window while it runs: parallel
guesses cannot overshoot the limit, and a refused attempt adds nothing.
"""

import contextlib
import hashlib
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _

from imsite.errors import ImError
from imsite.realtime.windows import windows

REGISTER_WINDOW = 3600.0


class LoginAttempt:
    """What the door found: `failed()` for wrong credentials, `succeeded()` for a login. An
    attempt that says neither (a malformed request, an error) does not count."""

    outcome: str | None = None

    def failed(self) -> None:
        self.outcome = "failed"

    def succeeded(self) -> None:
        self.outcome = "succeeded"


def login_key(username: str) -> str:
    # Usernames are unique regardless of case; hashed so that any string makes a short key.
    return "login:" + hashlib.sha256(username.lower().encode()).hexdigest()


def locked_out() -> ImError:
    return ImError("rate_limited", _("Too many failed logins for this username; try again later."))


@contextlib.contextmanager
def login_attempt(username: str) -> Iterator[LoginAttempt]:
    """Wraps one credential check for `username`; raises `rate_limited` when it is locked out
    (after IM_LOGIN_ATTEMPTS failures within IM_LOGIN_LOCKOUT seconds, until IM_LOGIN_LOCKOUT
    seconds after the last of them). A success resets the count."""
    state, key = windows(), login_key(username)
    limit, window = settings.IM_LOGIN_ATTEMPTS, settings.IM_LOGIN_LOCKOUT
    place = state.take(key, limit, window)
    if place is None:
        raise locked_out()
    attempt = LoginAttempt()
    try:
        yield attempt
    finally:
        if attempt.outcome == "succeeded":
            state.clear(key)
        elif attempt.outcome == "failed":
            state.fail(key, place, limit, window)
        else:
            state.drop(key, place)


@contextlib.contextmanager
def registration_slot(address: str) -> Iterator[None]:
    """Wraps one sign-up from the client `address`: at most IM_REGISTER_RATE accounts per address
    per hour, else `rate_limited`. A sign-up that fails gives its place back."""
    state, key = windows(), f"register:{address}"
    place = state.take(key, settings.IM_REGISTER_RATE, REGISTER_WINDOW)
    if place is None:
        raise ImError("rate_limited", _("Too many accounts created from this address; try again later."))
    try:
        yield
    except BaseException:
        state.drop(key, place)
        raise
