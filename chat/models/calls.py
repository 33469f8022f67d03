from django.conf import settings
from django.db import models


class Call(models.Model):
    """A 1:1 audio/video call being signalled; its end is stored as a `call` system message."""

    class State(models.TextChoices):
        RINGING = "ringing"
        ACTIVE = "active"
        ENDED = "ended"

    call_id = models.UUIDField(primary_key=True)
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    callee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    media = models.CharField(max_length=5)
    state = models.CharField(max_length=7, choices=State.choices, default=State.RINGING)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The ring-timeout sweep: calls still ringing, oldest first.
            models.Index(fields=["state", "created_at"], name="call_state_idx"),
        ]
