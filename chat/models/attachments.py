from django.conf import settings
from django.db import models


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image"
        VOICE = "voice"
        FILE = "file"

    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    file = models.FileField(upload_to="attachments/%Y/%m/")
    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", blank=True)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    is_avatar = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)


class AttachmentUse(models.Model):
    """An attachment was sent in a conversation: its members may fetch it."""

    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="uses")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["attachment", "conversation"], name="attachmentuse_unique")]
