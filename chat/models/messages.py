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
    # A reply names its original (same conversation); `reply_to` is the original's summary as the
    # message object shows it, rewritten when the original is edited or recalled.
    reply_to_id = models.BigIntegerField(null=True, blank=True)
    reply_to = models.JSONField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    forwarded = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # History and pull are range scans on (conversation_id, seq); also makes seq unique.
            models.UniqueConstraint(fields=["conversation_id", "seq"], name="message_conversation_seq"),
        ]
        indexes = [
            # Edit and recall of an original: the replies whose summary to rewrite.
            models.Index(fields=["conversation_id", "reply_to_id"], name="message_reply_idx",
                         condition=models.Q(reply_to_id__isnull=False)),
        ]


class Reaction(models.Model):
    """One user's emoji on one message, on the message's shard (docs/api.md section 9)."""

    msg_id = models.BigIntegerField()
    conversation_id = models.CharField(max_length=40)
    user_id = models.BigIntegerField()
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One reaction per user per emoji; also serves a page's reactions (msg_id = ANY(...)).
            models.UniqueConstraint(fields=["msg_id", "emoji", "user_id"], name="reaction_unique"),
        ]


class MessageEdit(models.Model):
    """An earlier version of an edited message, kept for moderators (read-only in the admin)."""

    msg_id = models.BigIntegerField()
    conversation_id = models.CharField(max_length=40)
    content = models.JSONField()
    # When this version was replaced.
    replaced_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The admin's page of one conversation: the earlier versions of the messages shown.
            models.Index(fields=["msg_id", "replaced_at"], name="messageedit_msg_idx"),
        ]
