"""Web Push to members with no connected device (docs/api.md section 10).

A stored message (not a `system` one) is looked at again IM_PUSH_DELAY seconds later, by a
Celery task (a timer thread in the embedded default, where tasks would run at once): each member
but the sender who has no connected device then, has not read it, and has not muted the
conversation (unless mentioned) gets one request per subscription, encrypted for that
subscription (RFC 8291 aes128gcm) and signed with the server's VAPID key (RFC 8292). The
PushDelivery row is taken before the request, so a message reaches a subscription at most once;
429 and 5xx are retried (at most MAX_RETRIES times), 404 and 410 delete the subscription.
"""

import base64
import binascii
import fnmatch
import functools
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import http_ece
import orjson
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext
from py_vapid import Vapid02

from accounts.models import User
from accounts.representations import user_dict
from chat.models import Message, PushDelivery, PushSubscription
from conversations.models import Conversation, Membership
from imsite.batching import after_answers
from imsite.errors import ImError, invalid, not_found
from imsite.inputs import as_id
from imsite.pagination import page_by_id
from imsite.realtime.presence import presence
from imsite.shards import shard_alias
from imsite.timefmt import iso

log = logging.getLogger(__name__)
MAX_RETRIES = 3
RETRY_DELAYS = [10.0, 60.0, 300.0]  # after the 1st, 2nd, 3rd refusal (a Retry-After header may say longer)
REQUEST_TIMEOUT = 10.0
BODY_CHARS = 100
TYPE_WORDS = {"image": "Photo", "voice": "Voice message", "file": "File", "location": "Location"}


# --- the VAPID key ---------------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def vapid_key() -> Vapid02:
    """IM_VAPID_PRIVATE_KEY, or the key in the data folder, made on first use (written under a
    temporary name and linked into place, so that processes starting together agree on one)."""
    raw = settings.IM_VAPID_PRIVATE_KEY.strip()
    if raw:
        return Vapid02.from_pem(raw.encode()) if "BEGIN" in raw else Vapid02.from_raw(raw.encode())
    path = Path(settings.DATA_DIR) / "vapid_private.pem"
    if not path.exists():
        key = Vapid02()
        key.generate_keys()
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_bytes(key.private_pem())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            temporary.unlink()
    return Vapid02.from_file(str(path))


def public_key() -> str:
    return _b64url(vapid_key().public_key.public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint))


# --- subscriptions ---------------------------------------------------------------------------------

def subscription_dict(subscription: PushSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "endpoint": subscription.endpoint, "created_at": iso(subscription.created_at)}


def check_endpoint(raw: Any) -> str:
    """An https URL (http too with IM_PUSH_ALLOW_HTTP) on a host of IM_PUSH_HOSTS: the server
    requests only push services the operator trusts, never a place a user chooses."""
    if not isinstance(raw, str) or not 0 < len(raw) <= 2000:
        raise invalid({"endpoint": [gettext("Must be a URL.")]})
    parts = urlsplit(raw)
    schemes = {"https", "http"} if settings.IM_PUSH_ALLOW_HTTP else {"https"}
    host = (parts.hostname or "").lower()
    try:
        parts.port  # noqa: B018 (a malformed port raises)
    except ValueError:
        raise invalid({"endpoint": [gettext("Must be a URL.")]}) from None
    if parts.scheme not in schemes or not host or parts.username or parts.password:
        raise invalid({"endpoint": [gettext("Must be an %(schemes)s URL.") %
            {"schemes": " or ".join(sorted(schemes))}]})
    if not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in settings.IM_PUSH_HOSTS):
        raise invalid({"endpoint": [gettext("Not a push service this server sends to.")]})
    return raw


def _key(keys: dict, name: str, length: int) -> str:
    value = keys.get(name)
    try:
        decoded = _unb64url(value) if isinstance(value, str) else b""
    except (ValueError, binascii.Error):
        decoded = b""
    if len(decoded) != length or (name == "p256dh" and decoded[0] != 4):
        raise invalid({f"keys.{name}": [gettext("Must be base64url of %(count)d bytes.") % {"count": length}]})
    return value


def check_subscribe(user: User, data: Any) -> tuple[PushSubscription, bool]:
    """A browser's PushSubscription; the same endpoint again updates its row (and its owner:
    whoever is signed in on that browser now)."""
    if not isinstance(data, dict):
        raise invalid({"endpoint": ["Required."]})
    endpoint = check_endpoint(data.get("endpoint"))
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise invalid({"keys": [gettext("Must hold p256dh and auth.")]})
    p256dh, auth = _key(keys, "p256dh", 65), _key(keys, "auth", 16)
    with transaction.atomic():
        existing = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
        if existing is not None:
            existing.user, existing.p256dh, existing.auth = user, p256dh, auth
            existing.save(update_fields=["user", "p256dh", "auth"])
            return existing, False
        return PushSubscription.objects.create(user=user, endpoint=endpoint, p256dh=p256dh, auth=auth), True


def subscription_page(user_id: int, params: Any) -> dict[str, Any]:
    return page_by_id(PushSubscription.objects.filter(user_id=user_id).order_by("-id"), params, subscription_dict)


def do_unsubscribe(user_id: int, raw_id: Any) -> None:
    subscription_id = as_id(raw_id, strings=True)
    if subscription_id is None or not PushSubscription.objects.filter(id=subscription_id, user_id=user_id).delete()[0]:
        raise not_found(gettext("No such subscription."))


# --- scheduling ------------------------------------------------------------------------------------

def _later(delay: float, task: Any, *args: Any) -> None:
    """Run a task after `delay` seconds: a Celery countdown, or in the embedded default (tasks
    eager) a timer thread with its own database connection."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply_async(args=args, countdown=delay)
        return

    def run() -> None:
        try:
            task.run(*args)
        except Exception:
            log.exception("push task failed")
        finally:
            connection.close()

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.start()


def schedule_push(messages: list[Message]) -> None:
    """After a batch is stored: one task for its messages, IM_PUSH_DELAY seconds later."""
    from chat.tasks import push_messages  # the tasks wrap this module's actions

    items = [[m.conversation_id, str(m.msg_id)] for m in messages if m.type != Message.Type.SYSTEM]
    if items:  # queued after the batch's answers: the `ack` does not wait for the broker
        transaction.on_commit(lambda: after_answers(lambda: _later(settings.IM_PUSH_DELAY, push_messages, items)))


# --- sending ---------------------------------------------------------------------------------------

def topic(conversation_id: str) -> str:
    """RFC 8030 Topic (at most 32 base64url characters): a newer notification of the same
    conversation replaces an undelivered older one."""
    return _b64url(hashlib.sha256(conversation_id.encode()).digest()[:24])


def _payload(conversation: Conversation, message: Message, sender: User | None) -> dict[str, Any]:
    sender_data = user_dict(sender) if sender else None
    name = sender_data["display_name"] if sender_data else ""
    if conversation.kind == Conversation.Kind.GROUP:
        title = conversation.group.name
        prefix = f"{name}: " if name else ""
    else:
        title, prefix = name, ""
    text = message.content.get("text", "") if message.type == Message.Type.TEXT else TYPE_WORDS.get(message.type, "")
    return {"type": "message", "conversation_id": conversation.id, "msg_id": str(message.msg_id), "seq": message.seq,
            "sender": sender_data, "title": title, "body": (prefix + text)[:BODY_CHARS]}


def _recipients(conversation: Conversation, message: Message) -> list[int]:
    """Members but the sender who have not read it, muted ones only when mentioned, without a
    connected device now."""
    mentioned = set(message.content.get("mentions", [])) if message.type == Message.Type.TEXT else set()
    candidates = [uid for uid, muted in Membership.objects.filter(
        conversation_id=conversation.id, active=True, read_seq__lt=message.seq, clear_seq__lt=message.seq,
        join_seq__lt=message.seq).exclude(user_id=message.sender_id).values_list("user_id", "muted")
        if not muted or uid in mentioned]
    online = presence().online_users(candidates)
    return [uid for uid in candidates if uid not in online]


def do_push_message(conversation_id: str, raw_msg_id: str) -> int:
    """Notify the members who need it of one message; returns requests made."""
    conversation = Conversation.objects.select_related("group").filter(id=conversation_id).first()
    if conversation is None:
        return 0
    msg_id = as_id(raw_msg_id, strings=True)  # a task argument: the decimal string of the msg_id
    message = msg_id and Message.objects.using(shard_alias(conversation.shard)).filter(msg_id=msg_id).first()
    if message is None or message.recalled or message.type == Message.Type.SYSTEM:
        return 0
    users = _recipients(conversation, message)
    if not users:
        return 0
    payload = orjson.dumps(_payload(conversation, message, User.objects.filter(id=message.sender_id).first()))
    sent = 0
    for subscription in PushSubscription.objects.filter(user_id__in=users).order_by("id"):
        delivery, created = PushDelivery.objects.get_or_create(subscription=subscription, msg_id=message.msg_id)
        if created:  # else: sent already, or being retried
            _deliver(delivery, subscription, payload, conversation.id)
            sent += 1
    return sent


def do_retry_push(delivery_id: int, conversation_id: str) -> None:
    """A later attempt for a refused request (429, 5xx, no answer), unless the message was
    recalled or read meanwhile."""
    delivery = PushDelivery.objects.select_related("subscription").filter(
        id=delivery_id, sent=False, attempts__lte=MAX_RETRIES).first()
    conversation = Conversation.objects.select_related("group").filter(id=conversation_id).first()
    if delivery is None or conversation is None:
        return
    message = Message.objects.using(shard_alias(conversation.shard)).filter(msg_id=delivery.msg_id).first()
    if message is None or message.recalled or delivery.subscription.user_id not in _recipients(conversation, message):
        return
    payload = orjson.dumps(_payload(conversation, message, User.objects.filter(id=message.sender_id).first()))
    _deliver(delivery, delivery.subscription, payload, conversation.id)


def encrypt(payload: bytes, subscription: PushSubscription) -> bytes:
    """RFC 8291: aes128gcm with a fresh sender key, for the subscription's key and secret."""
    return http_ece.encrypt(payload, private_key=ec.generate_private_key(ec.SECP256R1()),
                            dh=_unb64url(subscription.p256dh), auth_secret=_unb64url(subscription.auth),
                            version="aes128gcm")


def _request(subscription: PushSubscription, payload: bytes, conversation_id: str) -> requests.Response:
    parts = urlsplit(subscription.endpoint)
    claims = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": settings.IM_VAPID_SUBJECT,
              "exp": int(time.time()) + 12 * 3600}
    headers = {**vapid_key().sign(claims), "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
               "TTL": str(settings.IM_PUSH_TTL), "Topic": topic(conversation_id), "Urgency": "normal"}
    return requests.post(subscription.endpoint, data=encrypt(payload, subscription), headers=headers,
                         timeout=REQUEST_TIMEOUT, allow_redirects=False)


def _retry_after(response: requests.Response | None, attempt: int) -> float:
    delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    header = response.headers.get("Retry-After", "") if response is not None else ""
    return max(delay, min(float(header), 3600.0)) if header.isascii() and header.isdigit() else delay


def _deliver(delivery: PushDelivery, subscription: PushSubscription, payload: bytes, conversation_id: str) -> None:
    from chat.tasks import retry_push  # the tasks wrap this module's actions

    # Endpoints are checked when subscribed; checked again, so that a narrowed IM_PUSH_HOSTS holds.
    try:
        check_endpoint(subscription.endpoint)
    except ImError:
        subscription.delete()
        return
    response: requests.Response | None
    try:
        response = _request(subscription, payload, conversation_id)
        status = response.status_code
    except requests.RequestException as exc:
        log.info("push request failed: %s", exc)
        response, status = None, 0
    if 200 <= status < 300:
        PushDelivery.objects.filter(id=delivery.id).update(sent=True, attempts=delivery.attempts + 1)
    elif status in (404, 410):  # the subscription is gone for good
        PushSubscription.objects.filter(id=subscription.id).delete()
    elif status == 0 or status == 429 or status >= 500:
        attempt = delivery.attempts + 1
        PushDelivery.objects.filter(id=delivery.id).update(attempts=attempt)
        if attempt <= MAX_RETRIES:
            _later(_retry_after(response, attempt), retry_push, delivery.id, conversation_id)
    else:  # any other refusal (a bad key, 413): not worth repeating
        log.warning("push refused with %s for subscription %s", status, subscription.id)
        PushDelivery.objects.filter(id=delivery.id).update(attempts=delivery.attempts + 1)

