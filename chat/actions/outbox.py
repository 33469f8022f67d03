"""Frames for users who may be offline: pushed live to connected users, kept in the outbox for
the others and pushed on their next connect."""

from typing import Any

from chat.models import Outbox
from imsite.events import send_event
from imsite.realtime.presence import presence


def do_notify(frame: dict[str, Any], user_ids: list[int], *, queue_all: bool = False) -> None:
    """`queue_all`: queue the frame for online users too (pushed live and again on their next
    connect), for idempotent frames that must not be missed by a device closing at this moment."""
    online = presence().online_users(sorted(set(user_ids)))
    offline = [uid for uid in set(user_ids) if queue_all or uid not in online]
    Outbox.objects.bulk_create([Outbox(user_id=uid, frame=frame) for uid in offline])
    send_event(frame, online)


def queued_frames_of(user_ids: list[int]) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    """Each user's queued frames with their ids, oldest first, in one query. They stay queued
    until `forget_frames` is called after they were written to a socket: a process that dies in
    between pushes them again on the next connect (at least once; clients drop repeats by content)."""
    queued: dict[int, list[tuple[int, dict[str, Any]]]] = {user_id: [] for user_id in user_ids}
    for frame_id, user_id, frame in (Outbox.objects.filter(user_id__in=user_ids).order_by("id")
                                     .values_list("id", "user_id", "frame")):
        queued[user_id].append((frame_id, frame))
    return queued


def forget_frames(ids: list[int]) -> None:
    Outbox.objects.filter(id__in=ids).delete()
