"""`manage.py migrate_shards` with 0, 1 and 2 message shards, on fresh databases."""

import subprocess

import psycopg
import pytest
from django.conf import settings

from tests.ops.conftest import PYTHON, ROOT, child_env, database_url

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def fresh_databases():
    """Two empty databases next to the test databases, dropped afterwards."""
    names = [f"{settings.DATABASES['default']['NAME']}_ms{i}" for i in range(2)]
    admin = database_url("default", "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    yield names
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate_shards(shards: list[str]) -> str:
    env = child_env(IM_MESSAGE_SHARDS=",".join(database_url("default", name) for name in shards))
    done = subprocess.run([PYTHON, "manage.py", "migrate_shards"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def tables(name: str) -> set[str]:
    with psycopg.connect(database_url("default", name)) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_no_shards_is_a_no_op(fresh_databases):
    output = migrate_shards([])
    assert "No message shards configured" in output
    assert tables(fresh_databases[0]) == set()


def test_one_shard(fresh_databases):
    output = migrate_shards(fresh_databases[:1])
    assert "Migrating message shard shard0" in output
    shard = tables(fresh_databases[0])
    assert {"chat_message", "chat_conversationcounter", "django_migrations"} <= shard
    assert "accounts_user" not in shard and "conversations_conversation" not in shard  # main-only models
    assert tables(fresh_databases[1]) == set()
    assert "No migrations to apply" in migrate_shards(fresh_databases[:1])  # again: nothing to do


def test_two_shards(fresh_databases):
    output = migrate_shards(fresh_databases)
    assert "Migrating message shard shard0" in output and "Migrating message shard shard1" in output
    for name in fresh_databases:
        assert {"chat_message", "chat_conversationcounter"} <= tables(name)
        assert "accounts_user" not in tables(name)
