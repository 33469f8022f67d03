"""1:1 audio/video call signalling (docs/api.md section 5, `call` frame) and the call record
(section 3, `system` message with the `call` event).

The server relays each frame to the peer and keeps just enough state in `chat.models.Call` to
know when a call ends: on reject, cancel or hang-up, when either side's last device goes away, or
after `IM_CALL_RING_TIMEOUT` seconds unanswered. Every end locks the row and claims it with
`_claim_end`, so two ends racing (both hang up, a hang-up and a disconnect, the ring sweep and an
accept) store exactly one record; the end frames go out before the record. Server-made end
frames are described in docs/calls.md.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.actions.send import do_send_system_message
from chat.models import Call
from conversations.actions.access import access_membership
from conversations.actions.direct import check_direct_allowed, peer_of
from conversations.models import Conversation
from imsite.errors import ImError, not_found
from imsite.events import send_event

ACTIONS = {"invite", "ringing", "accept", "reject", "cancel", "hangup", "offer", "answer", "ice"}
ENDING = {"reject", "cancel", "hangup"}
MEDIA = {"audio", "video"}


def _parse_call_id(raw: Any) -> uuid.UUID:
    error = ImError("invalid_frame", _("call_id must be a UUID."))
    if not isinstance(raw, str):
        raise error
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise error from None


def _relay_frame(frame: dict[str, Any], call_id: uuid.UUID, conversation_id: str, user_id: int) -> dict[str, Any]:
    relayed: dict[str, Any] = {"type": "call", "action": frame["action"], "call_id": str(call_id),
                               "conversation_id": conversation_id}
    for key in ("media", "payload"):
        if key in frame:
            relayed[key] = frame[key]
    relayed["from_user_id"] = user_id
    return relayed


def check_call_frame(user_id: int, frame: dict[str, Any], channel: str | None = None) -> None:
    """Check one `call` frame from `user_id`'s device `channel`, update the call, relay it."""
    action = frame.get("action")
    if action not in ACTIONS:
        raise ImError("invalid_frame", _("action must be one of %(actions)s.") %
            {"actions": ", ".join(sorted(ACTIONS))})
    call_id = _parse_call_id(frame.get("call_id"))
    membership = access_membership(user_id, frame.get("conversation_id"))
    conversation = membership.conversation
    if conversation.kind != Conversation.Kind.DIRECT:
        raise not_found(_("Calls are made in direct conversations only."))
    peer_id = peer_of(conversation.id, user_id)
    if action not in ENDING:
        # Ending a call is always allowed; anything that starts or carries one is a send.
        check_direct_allowed(user_id, peer_id)
    relayed = _relay_frame(frame, call_id, conversation.id, user_id)
    if action == "invite":
        if frame.get("media") not in MEDIA:
            raise ImError("invalid_frame", _("media must be audio or video."))
        try:
            with transaction.atomic():
                Call.objects.create(call_id=call_id, conversation=conversation, inviter_id=user_id,
                                    callee_id=peer_id, media=frame["media"])
        except IntegrityError:
            raise ImError("invalid_frame", _("This call_id is already used.")) from None
        send_event(relayed, [peer_id])
        return
    with transaction.atomic():
        call = _locked(call_id, conversation=conversation)
        if call is None:
            raise not_found(_("No such call."))
        if call.state == Call.State.ENDED:
            if action in ENDING:
                return  # the other side or a disconnect ended it first: nothing left to do
            raise not_found(_("This call has ended."))
        is_callee = call.callee_id == user_id
        if action in ("ringing", "accept", "reject") and not is_callee:
            raise ImError("forbidden", _("Only the callee may %(action)s.") % {"action": action})
        if action == "cancel" and is_callee:
            raise ImError("forbidden", _("Only the inviter may cancel."))
        if action in ("ringing", "accept", "reject", "cancel") and call.state != Call.State.RINGING:
            raise ImError("forbidden", _("The call is no longer ringing."))
        if action == "accept":
            if not Call.objects.filter(call_id=call_id, state=Call.State.RINGING).update(
                    state=Call.State.ACTIVE, accepted_at=timezone.now()):
                raise not_found(_("This call has ended."))
        ended_at = None
        if action in ENDING:
            outcome = _outcome(call, user_id)
            if (ended_at := _claim_end(call)) is None:
                return
        send_event(relayed, [peer_id])
        if action in ("accept", "reject"):
            # The callee's other devices stop ringing.
            send_event(relayed, [user_id], exclude_channel=channel)
        if ended_at is not None:
            _store_record(call, outcome, user_id, ended_at)


def _outcome(call: Call, user_id: int) -> str:
    """What a hang-up, cancel or reject by `user_id` means in the call's state."""
    if call.state == Call.State.ACTIVE:
        return "completed"
    return "cancelled" if user_id == call.inviter_id else "rejected"


def _locked(call_id: uuid.UUID, **filters: Any) -> Call | None:
    return (Call.objects.select_for_update(of=("self",)).select_related("conversation")
            .filter(call_id=call_id, **filters).first())


def _claim_end(call: Call) -> datetime | None:
    """Mark a locked call ended; the update conditional on the state that was read is the claim
    (the row lock already serializes PostgreSQL; SQLite ignores select_for_update), so only one
    end stores a record. The end time, or None if the call changed state meanwhile."""
    now = timezone.now()
    if call.state == Call.State.ENDED or not Call.objects.filter(call_id=call.call_id, state=call.state).update(
            state=Call.State.ENDED, ended_at=now):
        return None
    return now


def _store_record(call: Call, outcome: str, actor_id: int | None, ended_at: datetime) -> None:
    """The call's `system` message, pushed after the end frames sent before it in the transaction."""
    duration_ms = 0
    if outcome == "completed" and call.accepted_at is not None:
        duration_ms = int((ended_at - call.accepted_at).total_seconds() * 1000)
    do_send_system_message(call.conversation, actor_id, {
        "event": "call", "call_id": str(call.call_id), "media": call.media, "outcome": outcome,
        "duration_ms": duration_ms, "actor_id": actor_id,
    })


def do_end_calls_of(user_id: int) -> int:
    """The user's last device went away: end each of their unfinished calls and tell the peer.
    Returns how many calls ended."""
    # Served by the foreign-key indexes on inviter and callee.
    open_ids = list(Call.objects.filter(Q(inviter_id=user_id) | Q(callee_id=user_id))
                    .exclude(state=Call.State.ENDED).values_list("call_id", flat=True))
    ended = 0
    for call_id in open_ids:
        with transaction.atomic():
            call = _locked(call_id)
            if call is None or call.state == Call.State.ENDED:
                continue
            ringing = call.state == Call.State.RINGING
            if call.inviter_id == user_id:
                outcome, action = ("cancelled", "cancel") if ringing else ("completed", "hangup")
                peer_id = call.callee_id
            else:
                outcome, action = ("missed", "reject") if ringing else ("completed", "hangup")
                peer_id = call.inviter_id
            if (ended_at := _claim_end(call)) is None:
                continue
            send_event({"type": "call", "action": action, "call_id": str(call.call_id),
                        "conversation_id": call.conversation_id, "from_user_id": user_id,
                        "outcome": outcome, "reason": "disconnected"}, [peer_id])
            _store_record(call, outcome, user_id, ended_at)
            ended += 1
    return ended


def expire_ringing_calls() -> int:
    """End calls left ringing for `IM_CALL_RING_TIMEOUT` seconds as `missed` (Celery beat, or the
    embedded default's in-process sweeper, every second). Returns how many ended."""
    cutoff = timezone.now() - timedelta(seconds=settings.IM_CALL_RING_TIMEOUT)
    # Served by call_state_idx (state, created_at).
    due = list(Call.objects.filter(state=Call.State.RINGING, created_at__lt=cutoff)
               .order_by("created_at").values_list("call_id", flat=True)[:500])
    ended = 0
    for call_id in due:
        with transaction.atomic():
            call = _locked(call_id, state=Call.State.RINGING)
            # Accepted or ended while the sweep was on its way: not missed.
            if call is None or (ended_at := _claim_end(call)) is None:
                continue
            send_event({"type": "call", "action": "timeout", "call_id": str(call.call_id),
                        "conversation_id": call.conversation_id, "from_user_id": None,
                        "outcome": "missed", "reason": "timeout"}, [call.inviter_id, call.callee_id])
            _store_record(call, "missed", None, ended_at)
            ended += 1
    return ended
