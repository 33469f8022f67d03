"""The Celery app. With REDIS_URL, a broker on Redis and real workers and beat; without it, tasks
run eagerly in-process (settings.CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsite.settings")

app = Celery("imsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
