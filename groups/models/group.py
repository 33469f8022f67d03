from django.conf import settings
from django.db import models


class Group(models.Model):
    """A group chat. Members and roles are the conversation's memberships (`Membership.role`)."""

    conversation = models.OneToOneField("conversations.Conversation", on_delete=models.PROTECT,
                                        related_name="group", null=True)
    name = models.CharField(max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    announcement = models.TextField(blank=True, max_length=2000)
    avatar = models.ForeignKey("chat.Attachment", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    dissolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
