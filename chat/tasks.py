"""Celery tasks: thin wrappers over actions."""

from celery import shared_task

from chat.actions import calls, delivery


# Beat sends one every second: a sweep still queued after a few seconds (no worker was up) is
# dropped, so a restarted worker does not run a backlog of them; the next one covers it.
@shared_task(ignore_result=True, expires=5)
def sweep_pending_acks() -> int:
    return delivery.sweep_pending_acks()


@shared_task(ignore_result=True, expires=5)
def expire_ringing_calls() -> int:
    return calls.expire_ringing_calls()
