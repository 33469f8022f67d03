"""Frames for users who may be offline: pushed live to connected users, kept in the outbox for
the others and pushed on their next connect."""

from typing import Any

from django.db import transaction

from chat.models import Outbox
from imsite.events import send_event
from imsite.realtime.state import get_state


def do_notify(frame: dict[str, Any], user_ids: list[int]) -> None:
    online = get_state().online_users(sorted(set(user_ids)))
    offline = [uid for uid in set(user_ids) if uid not in online]
    Outbox.objects.bulk_create([Outbox(user_id=uid, frame=frame) for uid in offline])
    send_event(frame, online)


def take_outbox(user_id: int) -> list[dict[str, Any]]:
    """The user's queued frames, oldest first, removed as they are taken."""
    with transaction.atomic():
        rows = list(Outbox.objects.select_for_update().filter(user_id=user_id).order_by("id"))
        Outbox.objects.filter(id__in=[row.id for row in rows]).delete()
    return [row.frame for row in rows]
