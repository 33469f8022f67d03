"""Tables on the message shards (imsite/shards.py). No foreign keys: users and conversations
live in the main database."""

from django.db import models


class ConversationCounter(models.Model):
    """The seq counter of one conversation, on the conversation's shard, so that taking a seq and
    inserting the message are one local transaction."""

    conversation_id = models.CharField(primary_key=True, max_length=40)
    last_seq = models.BigIntegerField(default=0)


class Message(models.Model):
    class Type(models.TextChoices):
        TEXT = "text"
        IMAGE = "image"
        VOICE = "voice"
        FILE = "file"
        LOCATION = "location"
        SYSTEM = "system"

    # The snowflake id the sender reserved: primary key, hence the idempotency key of a send.
    msg_id = models.BigIntegerField(primary_key=True)
    conversation_id = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    sender_id = models.BigIntegerField()
    type = models.CharField(max_length=8, choices=Type.choices)
    content = models.JSONField(default=dict)
    # Lower-cased text for search (trigram-indexed on PostgreSQL, docs/search.md); '' otherwise.
    search_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    recalled = models.BooleanField(default=False)
    recalled_by = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # History and pull are range scans on (conversation_id, seq); also makes seq unique.
            models.UniqueConstraint(fields=["conversation_id", "seq"], name="message_conversation_seq"),
        ]
