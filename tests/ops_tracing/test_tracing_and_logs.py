"""Tracing is off by default and switched on by the environment; logs carry a request id."""

import json
import logging
import os
import subprocess
import sys

from imsite import tracing


def test_tracing_off_by_default(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.enabled_by_environment() is False
    assert tracing.setup_tracing("test") is False


def test_console_exporter_prints_im_spans():
    """A child process with OTEL_TRACES_EXPORTER=console: setup installs the SDK and an IM span
    with its attributes is exported (no collector needed)."""
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'imsite.settings'); django.setup()\n"
        "from imsite import tracing\n"
        "assert tracing.setup_tracing('probe')\n"
        "with tracing.span('im.test', msg_id='123', seq=4): pass\n"
        "from opentelemetry import trace; trace.get_tracer_provider().shutdown()\n"
    )
    env = dict(os.environ, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="probe-service")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert '"name": "im.test"' in done.stdout
    assert '"msg_id": "123"' in done.stdout and '"service.name": "probe-service"' in done.stdout


def test_request_id_is_echoed_and_logged(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-42")
    assert response["X-Request-ID"] == "req-42"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32


def test_json_log_lines_carry_the_request_id():
    from django.conf import settings

    formatter_conf = settings.LOGGING["formatters"]["json"]
    formatter = __import__("pythonjsonlogger.json", fromlist=["JsonFormatter"]).JsonFormatter(
        formatter_conf["fmt"], rename_fields=formatter_conf["rename_fields"])
    record = logging.LogRecord("im", logging.INFO, __file__, 1, "stored", None, None)
    from imsite.logging_context import RequestIdFilter, request_id

    token = request_id.set("abc")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "abc" and line["level"] == "INFO" and line["message"] == "stored"
