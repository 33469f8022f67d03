"""Trigram index for message search on PostgreSQL shards (docs/search.md). SQLite scans."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS message_search_trgm ON chat_message USING gin (search_text gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS message_search_trgm"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, hints={"model_name": "message"})]
