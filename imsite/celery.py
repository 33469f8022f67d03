"""The Celery app. With REDIS_URL, a broker on Redis and real workers and beat; without it, tasks
run eagerly in-process (settings.CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsite.settings")

app = Celery("imsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _tracing_in_worker(**kwargs) -> None:
    from imsite.tracing import setup_tracing

    setup_tracing("im-celery")
