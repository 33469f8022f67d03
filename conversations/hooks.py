"""What conversations needs from chat, the layer that owns mentions, without importing chat: chat
supplies it in ChatConfig.ready (imsite/hooks.py)."""

from django.db.models import Expression

from imsite.hooks import Hook


@Hook
def unread_mentions() -> Expression:
    """For a Membership queryset: how many messages mention the member above its read cursor and
    clear point (the conversation object's `unread_mentions`), as one subquery of the row."""
