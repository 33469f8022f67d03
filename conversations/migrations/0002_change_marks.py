"""Change marks for exact /sync tokens (docs/sync.md): a trigger stamps every inserted or updated
conversation and membership row with its writer's place in the commit order. PostgreSQL: the
writing transaction's id (a token is a transaction snapshot, which says of every id whether it had
committed). SQLite, whose writers take turns: the next value of a one-row counter (the trigger's
own UPDATE does not fire it again: SQLite's recursive_triggers is off)."""

from django.db import migrations, models

TABLES = ("conversations_conversation", "conversations_membership")

POSTGRES_FORWARD = ["""
CREATE FUNCTION conversations_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_mark := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END $$""", *[f"""
CREATE TRIGGER {table}_mark BEFORE INSERT OR UPDATE ON {table}
FOR EACH ROW EXECUTE FUNCTION conversations_mark_change()""" for table in TABLES]]
POSTGRES_BACKWARD = [*[f"DROP TRIGGER {table}_mark ON {table}" for table in TABLES],
                     "DROP FUNCTION conversations_mark_change()"]

SQLITE_FORWARD = [
    "CREATE TABLE conversations_change_clock (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)",
    "INSERT INTO conversations_change_clock (id, value) VALUES (1, 0)",
    *[f"""
CREATE TRIGGER {table}_mark_{event.lower()} AFTER {event} ON {table} FOR EACH ROW
BEGIN
  UPDATE conversations_change_clock SET value = value + 1 WHERE id = 1;
  UPDATE {table} SET change_mark = (SELECT value FROM conversations_change_clock WHERE id = 1) WHERE rowid = NEW.rowid;
END""" for table in TABLES
      for event in ("INSERT", "UPDATE")],
]
SQLITE_BACKWARD = [*[f"DROP TRIGGER {table}_mark_{event}" for table in TABLES for event in ("insert", "update")],
                   "DROP TABLE conversations_change_clock"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="change_mark",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="membership",
            name="change_mark",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
            hints={"model_name": "membership"},  # the main database only (imsite/shards.py)
        ),
    ]
