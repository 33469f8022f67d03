"""Migrate every message shard of IM_MESSAGE_SHARDS (docs/api.md section 7)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Apply migrations to every message shard database (IM_MESSAGE_SHARDS)."

    def handle(self, *args, **options) -> None:
        if not settings.MESSAGE_SHARDS:
            self.stdout.write("No message shards configured: messages live in the main database "
                              "(migrated by `manage.py migrate`).")
            return
        for alias in settings.MESSAGE_SHARDS:
            self.stdout.write(f"Migrating message shard {alias}...")
            call_command("migrate", database=alias, interactive=False, verbosity=options["verbosity"])
