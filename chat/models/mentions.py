from django.db import models


class Mention(models.Model):
    """A group text mentioned a member (main database, beside the memberships): counts the
    conversation object's `unread_mentions` and lets a muted conversation notify (docs/api.md
    sections 9, 10)."""

    conversation_id = models.CharField(max_length=40)
    user_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    msg_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # unread_mentions: this user's mentions in a conversation above the read cursor.
            models.UniqueConstraint(fields=["user_id", "conversation_id", "seq"], name="mention_unique"),
        ]
        indexes = [
            # An edit or recall of the message replaces or drops its mentions.
            models.Index(fields=["msg_id"], name="mention_msg_idx"),
        ]
