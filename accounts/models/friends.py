from django.conf import settings
from django.db import models
from django.db.models import Q


class FriendRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        CANCELLED = "cancelled"

    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One pending request per direction; the reverse direction is checked under lock.
            models.UniqueConstraint(fields=["from_user", "to_user"], condition=Q(status="pending"),
                                    name="friendrequest_one_pending"),
        ]
        indexes = [
            # Incoming / outgoing pending lists, newest first.
            models.Index(fields=["to_user", "status", "-id"], name="friendreq_incoming_idx"),
            models.Index(fields=["from_user", "status", "-id"], name="friendreq_outgoing_idx"),
        ]


class Friendship(models.Model):
    """Stored both ways (one row per side) so a user's friend list is one index range."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    friend = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "friend"], name="friendship_unique")]


class Block(models.Model):
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique")]
        indexes = [
            # "has anyone blocked me": the reverse lookup.
            models.Index(fields=["blocked", "blocker"], name="block_reverse_idx"),
        ]
