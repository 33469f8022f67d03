"""Ephemeral real-time actions: typing, presence when a device goes away."""

from accounts.actions.friends import friend_ids
from chat.actions.calls import do_end_calls_of
from conversations.actions.access import access_membership, member_ids
from imsite.events import dispatch
from imsite.realtime.pending import pending
from imsite.realtime.presence import presence


def check_typing(user_id: int, conversation_id: object) -> None:
    membership = access_membership(user_id, conversation_id)
    others = [uid for uid in member_ids(membership.conversation_id) if uid != user_id]
    dispatch({"type": "typing", "conversation_id": membership.conversation_id, "user_id": user_id}, others)


def do_device_gone(user_id: int, channel: str) -> None:
    """A socket closed: forget the device and its pending pushes (what it did not acknowledge is
    pushed again on the user's next connect); the last device going tells friends and ends the
    user's calls."""
    pending().drop_device(channel)
    if presence().remove_device(user_id, channel):
        dispatch({"type": "presence", "user_id": user_id, "online": False}, friend_ids(user_id))
        do_end_calls_of(user_id)
