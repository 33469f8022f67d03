"""The "Enable notifications" control and the service worker (docs/api.md section 10), in
Chromium: the worker is served at /sw.js with a script type and scope over the whole app, the
browser subscribes with the server's VAPID key and the server stores the subscription; a push
delivered to the worker shows a notification naming the conversation, and what a click on it
does opens that conversation in the page; "Disable notifications" removes the subscription.

Headless Chromium has no push service of its own (a real one needs the vendor's servers), so the
page's PushManager hands out a subscription made here with a real P-256 key pair, pointing at a
local push endpoint the server accepts with IM_PUSH_ALLOW_HTTP (testing only); everything else,
the worker included, is the browser's own. A push is delivered to the worker through Chromium's
DevTools protocol, as the push service would."""

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from chat.models import PushSubscription
from conversations.actions.direct import direct_id
from tests.browser.test_features import people  # noqa: F401 (fixture)
from tests.browser.ui import in_thread, login, wait_for
from tests.conftest import ALL_DBS
from tests.e2e.processes import Cluster

pytestmark = [ALL_DBS, pytest.mark.browser]
ENDPOINT = "http://127.0.0.1:9/push/ann-browser"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path, IM_PUSH_ALLOW_HTTP="true", IM_PUSH_HOSTS="127.0.0.1")
    yield made
    made.stop_all()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    """A subscription's keys as a browser makes them: a P-256 public point and 16 secret bytes."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(public), "auth": b64url(os.urandom(16))}


# The page's PushManager: subscribe() records the applicationServerKey it was given; the browser
# keeps the subscription across reloads (here in localStorage) until unsubscribe().
FAKE_PUSH_SERVICE = """
(subscription) => {
  const make = () => ({
    endpoint: subscription.endpoint,
    toJSON: () => subscription,
    unsubscribe: async () => { localStorage.removeItem('fake-push'); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem('fake-push', btoa(String.fromCharCode(...key))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, ''));
    return make();
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem('fake-push') ? make() : null;
  };
}
"""


def test_enable_notifications_subscribes_and_the_worker_shows_pushes(open_page, people):  # noqa: F811
    ann_user, ben_user = people("ann", "ben")
    ann = open_page()
    ann.context.grant_permissions(["notifications"])
    subscription = {"endpoint": ENDPOINT, "keys": browser_keys()}
    ann.add_init_script(f"({FAKE_PUSH_SERVICE})({json.dumps(subscription)})")
    login(ann, "ann_f")

    worker = ann.request.get("/sw.js")
    assert worker.status == 200
    assert worker.headers["content-type"].startswith("text/javascript")

    ann.get_by_role("button", name="Enable notifications").click()
    expect(ann.get_by_role("button", name="Disable notifications")).to_be_visible()
    key = ann.evaluate("() => fetch('/api/v1/push/key').then((r) => r.json())")["vapid_public_key"]
    assert ann.evaluate("() => localStorage.getItem('fake-push')") == key
    stored = in_thread(lambda: list(
        PushSubscription.objects.filter(user=ann_user).values("endpoint", "p256dh", "auth")))
    assert stored == [{"endpoint": ENDPOINT, **subscription["keys"]}]
    scope = ann.evaluate("() => navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == ann.url.split("#")[0].rstrip("/") + "/"

    # The push service delivers a message: the worker shows it, one notification per conversation.
    cdp = ann.context.new_cdp_session(ann)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(150):  # DevTools events arrive while Playwright waits, not during time.sleep
        if any(r["scopeURL"] == scope for r in registrations):
            break
        ann.wait_for_timeout(100)
    registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == scope)
    conv = direct_id(ann_user.id, ben_user.id)
    payload = {"type": "message", "conversation_id": conv, "msg_id": "5", "seq": 3,
               "sender": {"id": ben_user.id, "display_name": "Ben"}, "title": "Ben", "body": "are you there?"}
    origin = scope.rstrip("/")
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": origin, "registrationId": registration_id, "data": json.dumps(payload)})
    shown = "() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>" \
            " list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })))"
    ann.wait_for_function(f"async () => (await ({shown})()).length === 1")
    assert ann.evaluate(shown) == [{"title": "Ben", "body": "are you there?", "tag": f"conversation-{conv}",
                                    "data": {"conversation_id": conv, "msg_id": "5"}}]
    # What a click on it does (the worker's own code, run in the worker): the open page shows the
    # conversation.
    expect(ann.locator("#conversation-title")).to_be_hidden()
    worker = next(w for w in ann.context.service_workers if w.url.endswith("/sw.js"))
    worker.evaluate(f"openConversation({json.dumps(conv)})")
    expect(ann.locator("#conversation-title")).to_have_text("Ben")

    # After a reload the control remembers; turning it off removes the subscription on the server.
    ann.reload()
    ann.get_by_role("button", name="Disable notifications").click()
    expect(ann.get_by_role("button", name="Enable notifications")).to_be_visible()
    wait_for(lambda: not in_thread(lambda: PushSubscription.objects.filter(user=ann_user).exists()),
             what="the subscription to be deleted")
    assert ann.recorder.errors == []


def test_the_optional_sound_is_off_until_turned_on_and_stays_as_chosen(open_page, people):  # noqa: F811
    people("ann")
    ann = open_page()
    login(ann, "ann_f")
    sound = ann.get_by_role("button", name="Sound for new messages")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    ann.reload()
    expect(ann.get_by_role("button", name="Sound for new messages")).to_have_attribute("aria-pressed", "true")
    assert ann.recorder.errors == []
