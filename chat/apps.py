from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        # What the layers below chat call in it without importing it (imsite/hooks.py).
        from accounts import hooks as accounts_hooks
        from chat.actions.attachments import check_avatar_image
        from chat.actions.compose import unread_mentions
        from chat.actions.outbox import do_notify
        from conversations import hooks as conversations_hooks

        accounts_hooks.notify.provide(do_notify)
        accounts_hooks.check_avatar_image.provide(check_avatar_image)
        conversations_hooks.unread_mentions.provide(unread_mentions)
