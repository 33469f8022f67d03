from django.conf import settings
from django.db import models


class PushSubscription(models.Model):
    """A browser's Web Push subscription (docs/api.md section 10). The endpoint is the
    browser's: registering it again (by whoever is signed in there now) updates the same row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The push task: the subscriptions of the members to notify; GET lists the caller's.
            models.Index(fields=["user", "id"], name="pushsub_user_idx"),
        ]


class PushDelivery(models.Model):
    """One message pushed to one subscription: the unique row is taken before the request, so a
    message is never sent twice to a subscription (retries reuse the row)."""

    subscription = models.ForeignKey(PushSubscription, on_delete=models.CASCADE, related_name="+")
    msg_id = models.BigIntegerField()
    attempts = models.PositiveSmallIntegerField(default=0)
    sent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "msg_id"], name="pushdelivery_unique"),
        ]
