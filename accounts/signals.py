"""A disabled account loses its open sockets at once (close code 4403), whatever disabled it
(Django admin, a shell, a future API)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from imsite.events import send_control, user_group


@receiver(post_save, sender=User)
def close_sockets_of_disabled_user(sender: type[User], instance: User, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        user_id = instance.id
        transaction.on_commit(lambda: send_control(user_group(user_id), {"type": "im.close", "code": 4403}))
