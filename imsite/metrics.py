"""The IM's own Prometheus metrics (prefix `im_`), next to django-prometheus's."""

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("im_connections_open", "Open WebSocket connections on this node", ["node"])
FRAMES_IN = Counter("im_frames_in_total", "Frames received from clients", ["type"])
FRAMES_OUT = Counter("im_frames_out_total", "Frames sent to clients", ["type"])
ERRORS = Counter("im_errors_total", "Error frames and refused requests", ["code"])
MESSAGES_STORED = Counter("im_messages_stored_total", "Messages durably stored", ["kind"])
PUSH_RETRIES = Counter("im_push_retries_total", "Pushes re-sent because no delivered ack came in time")
PENDING_ACKS = Gauge("im_pending_acks", "Pushes waiting for a device's delivered ack")
DELIVERY_SECONDS = Histogram(
    "im_delivery_seconds", "From store to the first delivered ack of a recipient device",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
ACK_SECONDS = Histogram(
    "im_ack_seconds", "From a send frame received to its ack sent",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CELERY_QUEUE_LENGTH = Gauge("im_celery_queue_length", "Tasks waiting in a Celery queue", ["queue"])


def _pending_acks() -> float:
    from imsite.realtime.pending import pending

    try:
        return float(pending().count())
    except Exception:  # Redis down: the scrape still answers; the gap shows on the dashboard
        return float("nan")


def _celery_queue_length() -> float:
    from django.conf import settings

    from imsite.realtime.store import redis_client

    if not settings.REDIS_URL:
        return 0.0  # the embedded default runs background work in-process: no queue
    try:
        return float(redis_client().llen("celery"))
    except Exception:
        return float("nan")


# Read at scrape time, so every node reports the shared values without a task keeping them fresh.
PENDING_ACKS.set_function(_pending_acks)
CELERY_QUEUE_LENGTH.labels(queue="celery").set_function(_celery_queue_length)
