"""A socket's set-up after it joined its user's groups, for every socket connecting at the same
moment in one go (a batch, imsite/batching.py): a reconnect storm after a node restart costs a
few queries per batch instead of five round trips per socket."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.actions.friends import friend_ids_of
from chat.actions.delivery import first_unacknowledged_pages, push_baselines
from chat.actions.outbox import queued_frames_of
from imsite.events import dispatch
from imsite.realtime.presence import presence


@dataclass(frozen=True)
class Connecting:
    user_id: int
    channel: str


@dataclass(frozen=True)
class Setup:
    """What a new socket writes before `synced`, and where its live pushes start."""

    online_friends: list[int]
    # Per conversation, the last seq stored when the socket registered: the offline push covers
    # what is at most this, live pushes what is above.
    baseline: dict[str, int]
    unacknowledged: list[dict[str, Any]]  # the offline push's first page
    after: dict[str, int] | None  # where its next page starts; None: there is none
    queued: list[tuple[int, dict[str, Any]]]  # outbox frames (id, frame), oldest first
    settling: bool  # another socket of the user is closing: the offline push waits for it


def do_connect_many(sockets: Sequence[Connecting]) -> list[Setup]:
    """Register the sockets as devices, tell the friends of users who just came online, and
    collect what each socket is owed. Registered before the baseline is read: a message stored
    after the read reaches the socket live (it already joined its groups); one stored before is
    in the baseline, hence in the offline push or the pull."""
    firsts = presence().add_devices([(s.user_id, s.channel, settings.IM_NODE_NAME) for s in sockets])
    user_ids = sorted({s.user_id for s in sockets})
    # Read before the offline push: a socket of the user no longer closing at this read had the
    # work it received applied already (chat/consumers.py, disconnect).
    closing = presence().closing_users(user_ids)
    baselines = push_baselines(user_ids)
    friends = friend_ids_of(user_ids)
    online = presence().online_users(sorted({f for ids in friends.values() for f in ids}))
    for socket, first in zip(sockets, firsts, strict=True):
        if first and friends[socket.user_id]:
            dispatch({"type": "presence", "user_id": socket.user_id, "online": True}, friends[socket.user_id])
    pages = first_unacknowledged_pages(user_ids)
    queued = queued_frames_of(user_ids)
    return [Setup(
        online_friends=sorted(online.intersection(friends[s.user_id])),
        baseline=dict(baselines[s.user_id]),
        unacknowledged=pages[s.user_id][0],
        after=pages[s.user_id][1],
        queued=queued[s.user_id],
        settling=s.user_id in closing,
    ) for s in sockets]
