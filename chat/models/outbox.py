from django.conf import settings
from django.db import models


class Outbox(models.Model):
    """Frames kept for a user who had no connected device when they were sent (friend requests,
    recalls of messages already acknowledged); pushed and removed on the user's next connect."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frame = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # On connect: this user's queued frames, oldest first.
            models.Index(fields=["user", "id"], name="outbox_user_idx"),
        ]
