from django.conf import settings
from django.db import models
from django.db.models import Q


class Conversation(models.Model):
    """A direct or group conversation. Its messages live on message shard `shard`."""

    class Kind(models.TextChoices):
        DIRECT = "direct"
        GROUP = "group"

    id = models.CharField(primary_key=True, max_length=40)  # "d_<low>_<high>" or "g_<group id>"
    kind = models.CharField(max_length=6, choices=Kind.choices)
    shard = models.PositiveSmallIntegerField()
    # Mirrors of the shard's seq counter and newest message, moved forward after each store
    # (never backwards), so the conversation list needs no shard query.
    last_seq = models.BigIntegerField(default=0)
    last_message = models.JSONField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped on every new message or recall: the old time tokens of /sync find changes by it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Set by a database trigger on every insert and update: the writing transaction's id
    # (PostgreSQL) or the next value of a counter (SQLite). /sync compares it with a token (see
    # conversations/actions/sync.py and docs/sync.md).
    change_mark = models.BigIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return self.id


class Membership(models.Model):
    """One user's place in one conversation: role, visible range, cursors and list options.

    A member sees messages with max(join_seq, clear_seq) < seq <= left_seq (no upper bound while
    active). Unread = last_seq - max(read_seq, clear_seq, join_seq): a user's own send moves their
    read cursor to it, so every message past the cursor is someone else's (docs/architecture.md).
    """

    class Role(models.TextChoices):
        NONE = ""
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    peer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")  # direct conversations: the other user
    role = models.CharField(max_length=6, choices=Role.choices, blank=True, default="")
    active = models.BooleanField(default=True)
    join_seq = models.BigIntegerField(default=0)
    left_seq = models.BigIntegerField(null=True, blank=True)
    clear_seq = models.BigIntegerField(default=0)
    read_seq = models.BigIntegerField(default=0)
    # Highest seq up to which every message of others reached a device of this user, plus the
    # acknowledged seqs above it (acks can arrive out of order).
    delivered_seq = models.BigIntegerField(default=0)
    delivered_extra = models.JSONField(default=list, blank=True)
    pinned = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    muted = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Bumped on most changes of this user's own state: the old time tokens of /sync find it by this.
    updated_at = models.DateTimeField(auto_now=True)
    # As Conversation.change_mark, set by the same trigger.
    change_mark = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="membership_unique"),
        ]
        indexes = [
            # The conversation list and /sync: a user's visible rows.
            models.Index(fields=["user", "deleted", "hidden"], name="membership_list_idx"),
            models.Index(fields=["user", "updated_at"], name="membership_sync_idx"),
            # Fan-out: the active members of a conversation.
            models.Index(fields=["conversation", "user"], condition=Q(active=True),
                         name="membership_active_idx"),
        ]

    def visible_floor(self) -> int:
        return max(self.join_seq, self.clear_seq)

    def unread_count(self, last_seq: int) -> int:
        top = last_seq if self.left_seq is None else min(last_seq, self.left_seq)
        return max(0, top - max(self.read_seq, self.clear_seq, self.join_seq))
