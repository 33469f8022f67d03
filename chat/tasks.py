"""Celery tasks: thin wrappers over actions."""

from celery import shared_task

from chat.actions import delivery


@shared_task(ignore_result=True)
def sweep_pending_acks() -> int:
    return delivery.sweep_pending_acks()

