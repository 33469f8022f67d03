"""The REST API answers as /api/schema says (docs/api.md sections 0-4).

schemathesis reads the schema the server serves, generates requests for every operation from it,
sends them through the WSGI application as a signed-in user, and checks each answer: a status
code the operation documents, its content type and headers, and a body that matches the
documented schema (success and error bodies alike), besides no 5xx. Generated ids rarely name
anything, so path parameters are swapped, most of the time, for ids of a small world of real
objects the caller can see (friends, a direct conversation, a group, an upload), so that the
successful answers are checked too. Bounded: ten generated requests per operation, one world
for all of them (schemathesis's pytest plugin would set up and flush the databases per operation)."""

import io
import random
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.actions import friends, tokens
from chat.actions import attachments
from chat.actions.send import check_send_message
from conversations.actions.direct import check_open_direct
from groups.actions import manage
from tests.conftest import ALL_DBS

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 10


class Upload(io.BytesIO):
    """What chat.actions.attachments reads from an uploaded file."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name, self.size = name, len(data)


@pytest.fixture
def kept_connections():
    """One database connection per alias for the whole run, as Django's test client keeps it: the
    WSGI handler would otherwise close and reopen them around each of the ~400 requests (churn
    that, on a PostgreSQL shared by busy test runs, can meet `too many clients`)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(make_user) -> dict[str, Any]:
    """The caller (alice), a friend with a direct conversation and messages both ways, a group,
    a pending request to alice, a blocked user and an uploaded image."""
    alice, bob, carol, dave, erin = (make_user() for _ in range(5))
    request, _ = friends.check_send_request(alice, bob.id)
    friends.do_accept(request)
    pending, _ = friends.check_send_request(carol, alice.id, "hi")
    friends.check_block(alice, erin.id)
    membership, _ = check_open_direct(alice, bob.id)
    direct = membership.conversation_id
    for sender in (alice, bob):
        check_send_message(sender.id, direct, "text", {"text": f"from {sender.username}"}, None)
    group = manage.check_create_group(alice, "team", [bob.id, dave.id])
    check_send_message(bob.id, group.conversation_id, "text", {"text": "hello team"}, None)
    png = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(png, "PNG")
    image = attachments.check_upload(alice, "image", Upload(png.getvalue(), "teal.png"))
    return {
        "alice": alice,
        "token": tokens.do_issue_tokens(alice)["access_token"],
        "ids": {
            "conversation_id": [direct, group.conversation_id],
            "group_id": [group.id],
            "user_id": [bob.id, dave.id, erin.id],
            "request_id": [pending.id],
            "attachment_id": [image.id],
        },
    }


def _run(operation: Any, world: dict[str, Any]) -> set[int]:
    """The schema's own request examples once each (on real ids), then EXAMPLES generated
    requests (on real ids most of the time); the statuses seen."""
    statuses: set[int] = set()

    def check(case: Any, real_ids: float) -> None:
        choose = random.Random(repr(sorted(case.path_parameters.items())) if case.path_parameters else "")
        for name, values in world["ids"].items():
            if case.path_parameters and name in case.path_parameters and choose.random() < real_ids:
                case.path_parameters[name] = choose.choice(values)
        token = world["token"]
        if case.path == "/api/v1/auth/logout":  # it revokes the token it is called with: use a spare one
            token = tokens.do_issue_tokens(world["alice"])["access_token"]
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        statuses.add(response.status_code)

    def test_with(strategy: Any, count: int, real_ids: float) -> None:
        @given(case=strategy)
        @settings(max_examples=count, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            check(case, real_ids)

        run()

    for strategy in operation.get_strategies_from_examples():
        test_with(strategy, 1, 1.0)
    test_with(operation.as_strategy(), EXAMPLES, 0.75)
    return statuses


@ALL_DBS
@pytest.mark.timeout(600)
def test_answers_match_the_schema(world, kept_connections):
    # Read here, not at collection: the WSGI application is built once Django is configured.
    schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", get_wsgi_application())
    # Deletions last, so that the others meet the group, the friendship and the block alive.
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda o: o.method == "delete")
    assert len(operations) >= 35
    failures, succeeded = [], []
    for operation in operations:
        try:
            if any(200 <= status < 300 for status in _run(operation, world)):
                succeeded.append(operation.label)
        except Exception as exc:  # every operation is checked; all failures are reported together
            failures.append(f"{operation.label}:\n{exc}")
    assert not failures, "\n\n".join(failures)
    # Not only refusals were checked: most operations answered with success at least once.
    assert len(succeeded) >= 0.6 * len(operations), succeeded
