"""Celery tasks: thin wrappers over actions."""

from celery import shared_task

from chat.actions import calls, delivery, push


# Beat sends one every second: a sweep still queued after a few seconds (no worker was up) is
# dropped, so a restarted worker does not run a backlog of them; the next one covers it.
@shared_task(ignore_result=True, expires=5)
def sweep_pending_acks() -> int:
    return delivery.sweep_pending_acks()


@shared_task(ignore_result=True, expires=5)
def expire_ringing_calls() -> int:
    return calls.expire_ringing_calls()


@shared_task(ignore_result=True)
def push_messages(items: list[list[str]]) -> int:
    """Web Push for a stored batch, IM_PUSH_DELAY seconds after it (items: conversation id, msg id)."""
    return sum(push.do_push_message(conversation_id, msg_id) for conversation_id, msg_id in items)


@shared_task(ignore_result=True)
def retry_push(delivery_id: int, conversation_id: str) -> None:
    push.do_retry_push(delivery_id, conversation_id)
