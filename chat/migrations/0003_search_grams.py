"""Indexes for searching CJK (and other non-ASCII) text on PostgreSQL shards (docs/search.md).

pg_trgm (0002) cannot serve LIKE '%天气%': a pattern of two characters has no trigram, and most
Chinese words are two characters. This GIN index holds, per message, every non-ASCII character
and every pair of neighbouring characters of which one is non-ASCII; a search adds
`im_search_grams(search_text) @> <the query's pairs>` (chat/actions/search.py) and the LIKE
rechecks. ASCII-only pairs are left out: Latin queries of 3+ characters use the trigram index.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION im_search_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  chars text[] := string_to_array(t, NULL);
  n int := coalesce(array_length(chars, 1), 0);
  grams text[] := '{}';
  k int := 0;
BEGIN
  FOR i IN 1..n LOOP
    IF ascii(chars[i]) > 127 THEN
      k := k + 1; grams[k] := chars[i];
    END IF;
    IF i < n AND (ascii(chars[i]) > 127 OR ascii(chars[i + 1]) > 127) THEN
      k := k + 1; grams[k] := chars[i] || chars[i + 1];
    END IF;
  END LOOP;
  RETURN grams;
END $$
"""
FORWARD = [
    FUNCTION,
    # Search: im_search_grams(search_text) @> ARRAY[pairs of the query] (then LIKE rechecks).
    "CREATE INDEX IF NOT EXISTS message_search_grams ON chat_message USING gin (im_search_grams(search_text))",
    # Search for a common term: walk the newest messages first (ORDER BY created_at DESC, msg_id
    # DESC LIMIT n) and filter, instead of collecting every match from a GIN index and sorting.
    "CREATE INDEX IF NOT EXISTS message_created_idx ON chat_message (created_at, msg_id)",
]
BACKWARD = ["DROP INDEX IF EXISTS message_created_idx", "DROP INDEX IF EXISTS message_search_grams", "DROP FUNCTION IF EXISTS im_search_grams(text)"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("chat", "0002_search_index")]

    operations = [migrations.RunPython(forwards, backwards, hints={"model_name": "message"})]
